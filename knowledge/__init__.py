"""Knowledge base: statute loaders, embeddings, Chroma store, hybrid retrieval, curation."""

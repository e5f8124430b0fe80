"""The assistant: domains, prompts, answer format, generator backends, the pipeline, CLI and HTTP API."""

__version__ = "0.1.0"

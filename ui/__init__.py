"""Gradio screens (chat, knowledge curation, review). No business logic: everything goes through `assistant`."""

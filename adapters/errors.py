"""Trainer exceptions. They carry user-facing text; the CLI prints them without a traceback."""

from __future__ import annotations

from knowledge.errors import YijuError


class AdapterError(YijuError):
    """Base class for errors the trainer reports to users as plain text."""


class TrainConfigError(AdapterError):
    """The training config is invalid; the message lists every bad field with its value."""


class DataError(AdapterError):
    """Training data could not be read; the message names the file and line."""


class ModelLoadError(AdapterError):
    """The base model could not be loaded or LoRA target modules did not match."""

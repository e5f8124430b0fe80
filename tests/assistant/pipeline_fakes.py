"""A queued-response generator: real code used by tests to drive the pipeline's parse/verify/review paths."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.errors import GeneratorError
from assistant.generators.base import GenParams, Message


class QueuedGenerator:
    """Returns queued outputs in order (the last one repeats); an Exception in the queue is raised instead.

    Every call's messages and params are kept in `calls`, so tests can check what the generator was shown.
    """

    kind = "queued"
    model_name = "queued-test-model"

    def __init__(self, *outputs: str | Exception, resolve: dict[str, str | None] | None = None) -> None:
        if not outputs:
            raise ValueError("queue at least one output")
        self.outputs = list(outputs)
        self.calls: list[tuple[list[Message], GenParams]] = []
        self.resolve = resolve

    def resolve_adapter(self, adapter: str | None) -> str | None:
        """Map requested adapters (None when `resolve` is unset: no adapter machinery)."""
        if self.resolve is None:
            return adapter
        value = self.resolve.get(adapter or "", None)
        if isinstance(value, Exception):
            raise value
        return value

    def adapter_path(self, adapter: str | None) -> None:
        """No adapter directories: nothing to read a manifest from."""
        return None

    def generate(self, messages: Sequence[Message], params: GenParams) -> str:
        self.calls.append((list(messages), params))
        out = self.outputs.pop(0) if len(self.outputs) > 1 else self.outputs[0]
        if isinstance(out, Exception):
            raise out
        return out

    def close(self) -> None:
        pass


class DeadGenerator(QueuedGenerator):
    """Always fails like a backend whose server is down."""

    def __init__(self) -> None:
        super().__init__(GeneratorError("cannot reach the OpenAI-compatible server at http://127.0.0.1:9/v1"))

"""The `openai_compat` generator: any server speaking OpenAI's /v1/chat/completions.

vLLM serves LoRA adapters as extra model names (`--lora-modules legal=… medical=…`), llama.cpp and
Ollama serve models by name, so the domain's adapter name is sent as `model`. Errors (connection
refused, timeouts, HTTP errors, malformed JSON) become `GeneratorError` with the URL in the message;
the pipeline then falls back to the extractive answer or reports an error, and audits either way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import httpx

from assistant.errors import GeneratorError
from assistant.generators.base import GenParams, Message
from assistant.generators.config import OpenAICompatConfig


class OpenAICompatGenerator:
    """Chat completions over HTTP (httpx)."""

    kind = "openai_compat"

    def __init__(self, config: OpenAICompatConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        key = config.api_key or (os.environ.get(config.api_key_env) if config.api_key_env else None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
        # One pooled client for all requests; httpx.Client is safe to share between threads.
        self._client = client or httpx.Client(
            base_url=config.base_url.rstrip("/") + "/", headers=headers, timeout=timeout
        )

    @property
    def model_name(self) -> str:
        """The server and default model, for the audit trail."""
        return f"{self.config.base_url}#{self.config.model}"

    def resolve_adapter(self, adapter: str | None) -> str | None:
        """The adapter sent to the server (as its model name), or None when adapters are off."""
        return adapter if adapter and self.config.use_adapters else None

    def _model_for(self, adapter: str | None) -> str:
        if adapter and self.config.use_adapters:
            return self.config.adapter_models.get(adapter, adapter)
        return self.config.model

    def _payload(self, messages: Sequence[Message], params: GenParams, stream: bool) -> dict:
        return {
            "model": self._model_for(params.adapter),
            "messages": [m.model_dump() for m in messages],
            "max_tokens": min(params.max_new_tokens, self.config.max_tokens),
            "temperature": params.temperature if params.temperature else self.config.temperature,
            "stream": stream,
        }

    def _fail(self, exc: Exception) -> GeneratorError:
        url = f"{self.config.base_url.rstrip('/')}/chat/completions"
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return GeneratorError(f"cannot reach the OpenAI-compatible server at {url}: {exc}")
        if isinstance(exc, httpx.TimeoutException):
            return GeneratorError(f"the OpenAI-compatible server at {url} timed out: {exc}")
        if isinstance(exc, httpx.HTTPStatusError):
            body = exc.response.text[:300] if exc.response is not None else ""
            return GeneratorError(f"{url} answered HTTP {exc.response.status_code}: {body}")
        return GeneratorError(f"{url}: {type(exc).__name__}: {exc}")

    def generate(self, messages: Sequence[Message], params: GenParams) -> str:
        """One non-streaming completion; returns the assistant message content."""
        try:
            resp = self._client.post("chat/completions", json=self._payload(messages, params, stream=False))
            resp.raise_for_status()
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._fail(exc) from exc
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise GeneratorError(
                f"unexpected response from {self.config.base_url}: {str(data)[:300]}"
            ) from exc
        if not isinstance(content, str):
            raise GeneratorError(f"unexpected message content from {self.config.base_url}: {content!r}"[:300])
        return content

    def adapter_path(self, adapter: str | None) -> Path | None:
        """Served models have no local adapter directory (the audit records the served name)."""
        return None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

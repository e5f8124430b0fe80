"""The `transformers_peft` generator: a local causal LM plus one LoRA adapter per domain.

The base model and every adapter are loaded once (lazily, on the first request, so `yiju serve` starts
fast and a corrupt adapter becomes an audited, flagged fallback rather than a start-up crash). A
request's domain picks its adapter with `set_adapter` — a pointer switch, no reload. Generation holds a
lock because the active adapter is model-wide state; `generate_batch` instead passes PEFT's per-row
`adapter_names`, so one forward pass can serve several domains at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import GeneratorError
from assistant.generators.base import GenParams, Message
from assistant.generators.config import TransformersPeftConfig

log = logging.getLogger(__name__)
BASE = "__base__"  # PEFT's name for "no adapter" in adapter_names


class TransformersPeftGenerator:
    """Local HF model + PEFT LoRA adapters, chat template, greedy or sampled decoding, token streaming."""

    kind = "transformers_peft"

    def __init__(self, config: TransformersPeftConfig, home: Path | None = None) -> None:
        self.config = config
        self.home = home
        self._lock = threading.RLock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._adapters: dict[str, Path] = {}
        self._adapter_errors: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._load_error: str | None = None

    # ------------------------------------------------------------------ loading
    @property
    def model_name(self) -> str:
        """The base model directory (recorded in the audit trail)."""
        return str(self.config.model_dir)

    def _adapter_paths(self) -> dict[str, Path]:
        """Configured adapters, else every adapter in the home registry (by name and by domain)."""
        if self.config.adapters:
            return {name: Path(p).expanduser() for name, p in self.config.adapters.items()}
        if self.home is None:
            return {}
        try:
            from adapters.registry import list_adapters
        except ImportError:  # pragma: no cover - adapters is part of the package
            return {}
        found: dict[str, Path] = {}
        for m in list_adapters(self.home):  # sorted oldest first: later (newer) entries win
            found[m.name] = Path(m.path)
            found.setdefault(m.domain, Path(m.path))
        return found

    def load(self) -> None:
        """Load tokenizer, base model and adapters once. Raises GeneratorError if the base model is unusable."""
        with self._lock:
            if self._model is not None:
                return
            if self._load_error is not None:
                raise GeneratorError(self._load_error)
            try:
                self._load()
            except GeneratorError as exc:
                self._load_error = str(exc)
                raise

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_dir = Path(self.config.model_dir).expanduser()
        if not (model_dir / "config.json").is_file():
            raise GeneratorError(f"{model_dir}: not a Hugging Face model directory (no config.json)")
        try:
            tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            base: Any = AutoModelForCausalLM.from_pretrained(
                model_dir, local_files_only=True, dtype=getattr(torch, self.config.dtype)
            )
        except Exception as exc:  # noqa: BLE001 - any loader failure is a configuration problem
            raise GeneratorError(f"{model_dir}: cannot load model: {exc}") from exc
        base.to(self.config.device)
        base.eval()
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        model: Any = base
        loaded_by_path: dict[Path, str] = {}
        for name, path in self._adapter_paths().items():
            key = path.resolve()
            if key in loaded_by_path:
                # The registry maps both an adapter's name and its domain to one folder: load once, alias.
                self._adapters[name] = path
                self._aliases[name] = loaded_by_path[key]
                continue
            try:
                model = self._load_adapter(model, name, path)
                self._adapters[name] = path
                loaded_by_path[key] = name
            except Exception as exc:  # noqa: BLE001 - one corrupt adapter must not take the others down
                log.warning("adapter %s at %s not loaded: %s", name, path, exc)
                self._adapter_errors[name] = f"adapter {name!r} at {path} could not be loaded: {exc}"
        self._tokenizer, self._model = tok, model

    @staticmethod
    def _load_adapter(model: Any, name: str, path: Path) -> Any:
        from peft import PeftModel

        if not (path / "adapter_config.json").is_file():
            raise GeneratorError(f"{path}: no adapter_config.json")
        if isinstance(model, PeftModel):
            model.load_adapter(str(path), adapter_name=name)
            return model
        return PeftModel.from_pretrained(model, str(path), adapter_name=name, is_trainable=False)

    @property
    def model(self) -> Any:
        """The loaded (Peft)model — loads on first access."""
        self.load()
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The loaded tokenizer — loads on first access."""
        self.load()
        return self._tokenizer

    def adapters(self) -> list[str]:
        """Names of the adapters that loaded."""
        self.load()
        return sorted(self._adapters)

    def resolve_adapter(self, adapter: str | None) -> str | None:
        """The adapter that will actually run for a requested name (None = the base model).

        Raises GeneratorError when the adapter exists but failed to load (a corrupt directory)."""
        self.load()
        if adapter is None:
            return None
        if adapter in self._adapter_errors:
            raise GeneratorError(self._adapter_errors[adapter])
        if adapter in self._adapters:
            return self._aliases.get(adapter, adapter)
        return None

    def adapter_path(self, adapter: str | None) -> Path | None:
        """The directory the named (resolved) adapter was loaded from; None for the base model/unknown.

        The pipeline reads that directory's `yiju_manifest.json` so the audit trail records the adapter
        that really ran (its registry name and version), not the domain key used to pick it."""
        if adapter is None:
            return None
        self.load()
        return self._adapters.get(adapter)

    # ------------------------------------------------------------------ generation
    def _inputs(self, messages: Sequence[Message], params: GenParams) -> Any:
        tok = self._tokenizer
        chat = [m.model_dump() for m in messages]
        text = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        enc = tok(text, return_tensors="pt", add_special_tokens=False)
        limit = int(getattr(self._model.config, "max_position_embeddings", 0) or 0)
        budget = limit - self._max_new(params) if limit else 0
        if budget > 0 and enc["input_ids"].shape[1] > budget:
            # Keep the end (question and latest instructions); the system rules are repeated in the template.
            enc = {k: v[:, -budget:] for k, v in enc.items()}
        return {k: v.to(self.config.device) for k, v in enc.items()}

    def _max_new(self, params: GenParams) -> int:
        return min(params.max_new_tokens, self.config.max_new_tokens)

    def _gen_kwargs(self, params: GenParams) -> dict:
        temperature = params.temperature or self.config.temperature
        kwargs: dict = {
            "max_new_tokens": self._max_new(params),
            "pad_token_id": self._tokenizer.pad_token_id,
            "eos_token_id": self._tokenizer.eos_token_id,
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            kwargs["temperature"] = temperature
        return kwargs

    def _activate(self, adapter: str | None) -> Any:
        """Select the adapter (set_adapter, no reload); returns a context manager for the base model case."""
        from contextlib import nullcontext

        from peft import PeftModel

        model = self._model
        active = self.resolve_adapter(adapter)
        if not isinstance(model, PeftModel):
            return nullcontext()
        if active is None:
            return model.disable_adapter()
        model.set_adapter(active)
        return nullcontext()

    def generate(self, messages: Sequence[Message], params: GenParams) -> str:
        """Generate the whole answer with the requested adapter active."""
        import torch

        self.load()
        with self._lock:
            inputs = self._inputs(messages, params)
            try:
                with self._activate(params.adapter), torch.inference_mode():
                    out = self._model.generate(**inputs, **self._gen_kwargs(params))
            except GeneratorError:
                raise
            except Exception as exc:  # noqa: BLE001 - OOM, device errors…
                raise GeneratorError(f"generation failed: {exc}") from exc
        new_tokens = out[0, inputs["input_ids"].shape[1] :]
        return self._tokenizer.decode(new_tokens, skip_special_tokens=True)

    def generate_batch(
        self, requests: Sequence[tuple[Sequence[Message], str | None]], params: GenParams
    ) -> list[str]:
        """Generate for several (messages, adapter) pairs in one padded batch using PEFT's `adapter_names`."""
        import torch

        self.load()
        tok = self._tokenizer
        texts = [
            tok.apply_chat_template(
                [m.model_dump() for m in msgs], tokenize=False, add_generation_prompt=True
            )
            for msgs, _ in requests
        ]
        names = [self.resolve_adapter(a) or BASE for _, a in requests]
        with self._lock:
            side = tok.padding_side
            tok.padding_side = "left"  # decoder-only models continue from the right edge
            try:
                enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
                    self.config.device
                )
            finally:
                tok.padding_side = side
            kwargs = self._gen_kwargs(params)
            from peft import PeftModel

            if isinstance(self._model, PeftModel):
                kwargs["adapter_names"] = names
            with torch.inference_mode():
                out = self._model.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        return [tok.decode(row[width:], skip_special_tokens=True) for row in out]

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        with self._lock:
            self._model = None
            self._tokenizer = None

"""The training recipe: setup → train → save → cleanup, in one readable function (`run_training`).

It uses the Hugging Face Trainer (checkpoints, resume, TensorBoard, gradient accumulation come with it)
with a packing collator: each batch of short samples becomes one row with per-sample position ids, which
transformers turns into a block-diagonal causal mask, so no compute is spent on padding and samples never
attend to each other. Early stopping is a small callback that keeps the best adapter on disk.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.config import TrainConfig
from adapters.data import Sample, data_hash, dedupe, load_samples, split_train_val
from adapters.errors import AdapterError
from adapters.manifest import MANIFEST_NAME, AdapterManifest, next_version, write_manifest
from adapters.model import (
    base_model_hash,
    choose_precision,
    detect_target_modules,
    load_base_model,
    resolve_device,
)
from adapters.refusal import build_refusal_samples
from adapters.templates import apply_template

log = logging.getLogger("yiju.adapters")
IGNORE_INDEX = -100
BEST_DIR = "best_adapter"


@dataclass
class PreparedData:
    """The samples a run trains and validates on, and how they were assembled."""

    train: list[Sample]
    val: list[Sample]
    refusal_train: int
    refusal_val: int
    duplicates_removed: int
    leakage_removed: int
    template_issues: list[dict] = field(default_factory=list)
    data_hash: str = ""


@dataclass
class TrainResult:
    """What `run_training` returns: where the adapter is and the run's summary."""

    output_dir: Path
    summary: dict[str, Any]
    manifest: AdapterManifest


def prepare_data(cfg: TrainConfig) -> PreparedData:
    """Load, template-check, dedupe and split the data, then mix in refusal samples on both sides."""
    samples = load_samples(cfg.train_data_dir, cfg.metadata_path, cfg.data_format)
    d_hash = data_hash(samples)
    samples, issues = apply_template(samples, cfg.template, cfg.domain)
    samples, dups = dedupe(samples)
    train, val = split_train_val(samples, cfg.validation_split, cfg.seed)
    refusal: list[Sample] = []
    if cfg.refusal_ratio > 0:
        existing = {s.key() for s in samples}
        refusal = build_refusal_samples(
            cfg.refusal_policy or cfg.domain, len(train), cfg.refusal_ratio, cfg.seed, exclude_keys=existing
        )
    r_train, r_val = split_train_val(refusal, cfg.validation_split if val else 0.0, cfg.seed + 1)
    # A refusal prompt on both sides would leak; split_train_val groups by prompt, this double-checks it.
    train_keys = {s.key() for s in train + r_train}
    all_val = val + r_val
    clean_val = [s for s in all_val if s.key() not in train_keys]
    return PreparedData(
        train=train + r_train,
        val=clean_val,
        refusal_train=len(r_train),
        refusal_val=len([s for s in clean_val if s.kind == "refusal"]),
        duplicates_removed=dups,
        leakage_removed=len(all_val) - len(clean_val),
        template_issues=[i.model_dump() for i in issues],
        data_hash=d_hash,
    )


def _prompt_text(tok: Any, sample: Sample, default_system: str | None) -> str:
    system = sample.system or default_system
    if getattr(tok, "chat_template", None):
        msgs = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": sample.prompt}
        ]
        return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    prefix = f"{system}\n" if system else ""
    return f"{prefix}用户：{sample.prompt}\n助手："


def tokenize_samples(
    tok: Any, samples: list[Sample], max_len: int, system: str | None
) -> list[dict[str, list[int]]]:
    """input_ids/labels per sample; only completion tokens (and the closing eos) carry a loss."""
    out: list[dict[str, list[int]]] = []
    eos = tok.eos_token or ""
    for s in samples:
        p_ids = tok(_prompt_text(tok, s, system), add_special_tokens=False)["input_ids"]
        c_ids = tok(s.completion + eos, add_special_tokens=False)["input_ids"]
        # Keep at least half the budget for the answer; trim the prompt from the left (oldest context).
        c_ids = c_ids[: max(max_len // 2, max_len - len(p_ids))]
        p_ids = p_ids[-(max_len - len(c_ids)) :] if len(p_ids) + len(c_ids) > max_len else p_ids
        out.append({"input_ids": p_ids + c_ids, "labels": [IGNORE_INDEX] * len(p_ids) + c_ids})
    return out


class PackingCollator:
    """Pack a batch into as few rows of at most `max_len` tokens as fit (first-fit decreasing).

    Position ids restart for every sample, and with no attention mask transformers builds a
    block-diagonal causal mask from them, so packed samples never attend to each other. Rows are capped
    at the batch's longest sample (and `max_len`): attention over a row costs no more than over one
    padded sample, so packing only removes the padding (one long row would be quadratic in the batch). Padding at a row's end forms its own segment and carries no loss. `use_cache=False`
    is part of the batch because transformers ignores position-id packing when a KV cache exists.
    """

    def __init__(self, pad_id: int, packing: bool = True, max_len: int = 1024) -> None:
        self.pad_id = pad_id
        self.packing = packing
        self.max_len = max_len

    def _rows(self, features: list[dict[str, list[int]]]) -> list[list[dict[str, list[int]]]]:
        rows: list[list[dict[str, list[int]]]] = []
        used: list[int] = []
        # Rows no wider than the longest sample: attention then costs no more than padding would,
        # while the short samples fill the space padding would have wasted.
        cap = min(self.max_len, max(len(f["input_ids"]) for f in features))
        for f in sorted(features, key=lambda f: len(f["input_ids"]), reverse=True):
            n = len(f["input_ids"])
            for i, u in enumerate(used):
                if u + n <= cap:
                    rows[i].append(f)
                    used[i] += n
                    break
            else:
                rows.append([f])
                used.append(n)
        return rows

    def __call__(self, features: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        if self.packing:
            rows = self._rows(features)
            width = max(sum(len(f["input_ids"]) for f in row) for row in rows)
            ids, labels, pos = [], [], []
            for row in rows:
                r_ids: list[int] = []
                r_labels: list[int] = []
                r_pos: list[int] = []
                for f in row:
                    r_ids.extend(f["input_ids"])
                    r_labels.extend(f["labels"])
                    r_pos.extend(range(len(f["input_ids"])))
                pad = width - len(r_ids)
                ids.append(r_ids + [self.pad_id] * pad)
                labels.append(r_labels + [IGNORE_INDEX] * pad)
                pos.append(r_pos + list(range(pad)))
            return {
                "input_ids": torch.tensor(ids),
                "labels": torch.tensor(labels),
                "position_ids": torch.tensor(pos),
                # transformers only derives the block-diagonal mask when no KV cache exists.
                "use_cache": False,
            }
        longest = max(len(f["input_ids"]) for f in features)
        batch_ids, batch_labels, mask = [], [], []
        for f in features:
            pad = longest - len(f["input_ids"])
            batch_ids.append(f["input_ids"] + [self.pad_id] * pad)
            batch_labels.append(f["labels"] + [IGNORE_INDEX] * pad)
            mask.append([1] * len(f["input_ids"]) + [0] * pad)
        return {
            "input_ids": torch.tensor(batch_ids),
            "labels": torch.tensor(batch_labels),
            "attention_mask": torch.tensor(mask),
            "use_cache": False,
        }


class _ListDataset:
    def __init__(self, rows: list[dict[str, list[int]]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.rows[i]


def _make_callbacks(out_dir: Path, patience: int | None) -> list[Any]:
    from transformers import TrainerCallback

    class BestAdapterCallback(TrainerCallback):
        """Save the adapter whenever validation loss improves; stop after `patience` epochs without one."""

        def __init__(self) -> None:
            self.best: float | None = None
            self.bad_epochs = 0

        def on_train_begin(self, args, state, control, **kw):  # noqa: ANN001
            # On resume, rebuild best/patience from the restored log history (the callback itself is new).
            for entry in state.log_history:
                if "eval_loss" in entry and entry.get("epoch", 0) > 0:
                    self._update(entry["eval_loss"], None)

        def _update(self, loss: float, model: Any) -> bool:
            if self.best is None or loss < self.best - 1e-6:
                self.best = loss
                self.bad_epochs = 0
                if model is not None:
                    model.save_pretrained(out_dir / BEST_DIR)
                return True
            self.bad_epochs += 1
            return False

        def on_evaluate(self, args, state, control, metrics=None, model=None, **kw):  # noqa: ANN001
            if not metrics or "eval_loss" not in metrics or state.global_step == 0:
                return control
            self._update(float(metrics["eval_loss"]), model)
            if patience is not None and self.bad_epochs >= patience:
                log.info("early stopping: %d epochs without a better validation loss", self.bad_epochs)
                state.log_history.append(
                    {"early_stopped": True, "step": state.global_step, "epoch": state.epoch}
                )
                control.should_training_stop = True
            return control

    return [BestAdapterCallback()]


def _peak_memory_bytes(device: str) -> int:
    import torch

    if device == "cuda":
        return int(torch.cuda.max_memory_allocated())
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


def plot_losses(log_history: list[dict], path: Path) -> None:
    """Write a training/validation loss curve PNG (matplotlib, headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e and "step" in e]
    val = [(e["step"], e["eval_loss"]) for e in log_history if "eval_loss" in e and "step" in e]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss")
    if val:
        ax.plot(*zip(*val, strict=True), marker="o", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("yiju LoRA training")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_training(cfg: TrainConfig, *, callbacks: list[Any] | None = None, quiet: bool = False) -> TrainResult:
    """Train a LoRA adapter as `cfg` says and write adapter, manifest, summary.json and loss.png."""
    # ---- setup -------------------------------------------------------------------------------
    started = time.time()
    out_dir = Path(cfg.output_dir)
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainingArguments, set_seed

    set_seed(cfg.seed)
    device = resolve_device(cfg.device)
    precision, notes = choose_precision(device, cfg.fp16, cfg.bf16)
    data = prepare_data(cfg)
    if not data.train:
        raise AdapterError("no training samples left after dedupe and the validation split")
    loaded = load_base_model(cfg.base_model)
    notes.extend(loaded.notes)
    tok = loaded.tokenizer
    targets = detect_target_modules(loaded.model, cfg.target_modules)
    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=cfg.lora_rank,
        lora_alpha=cfg.lora_alpha,  # type: ignore[arg-type]  # peft annotates int; scaling = alpha / r takes a float
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        use_dora=cfg.use_dora,
        use_rslora=cfg.use_rslora,
    )
    if cfg.use_dora:
        notes.append("DoRA adapters load in PEFT; vLLM's --lora-modules does not support DoRA")
    model = get_peft_model(loaded.model, lora)
    out_dir.mkdir(parents=True, exist_ok=True)  # only once data and model are known to be good
    trainable, total = model.get_nb_trainable_parameters()
    for n in notes:
        log.info(n)
    train_rows = tokenize_samples(tok, data.train, cfg.max_seq_length, cfg.system_prompt)
    val_rows = tokenize_samples(tok, data.val, cfg.max_seq_length, cfg.system_prompt)
    train_tokens = sum(len(r["input_ids"]) for r in train_rows)

    tb_dir = cfg.tensorboard_dir
    tb_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(
        tb_dir
    )  # transformers 5 dropped TrainingArguments.logging_dir
    has_val = bool(val_rows)
    args = TrainingArguments(
        output_dir=str(out_dir),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_steps or cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        fp16=precision == "fp16",
        bf16=precision == "bf16",
        use_cpu=device == "cpu",
        seed=cfg.seed,
        data_seed=cfg.seed,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="epoch" if has_val else "no",
        eval_on_start=has_val,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        report_to=["tensorboard"],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=quiet,
        label_names=["labels"],
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=_ListDataset(train_rows),
        eval_dataset=_ListDataset(val_rows) if has_val else None,
        data_collator=PackingCollator(tok.pad_token_id, cfg.packing, cfg.max_seq_length),
        callbacks=_make_callbacks(out_dir, cfg.early_stopping_patience if has_val else None)
        + list(callbacks or []),
    )
    if quiet:
        # With tqdm disabled, Trainer falls back to printing every log dict; quiet means quiet.
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)

    # ---- train -------------------------------------------------------------------------------
    resume: str | bool | None = None
    if cfg.resume_from_checkpoint:
        resume = cfg.resume_from_checkpoint
        if resume is True and not any(out_dir.glob("checkpoint-*")):
            log.warning("resume_from_checkpoint: no checkpoint in %s yet; starting from step 0", out_dir)
            resume = None
        elif isinstance(resume, str) and not Path(resume).is_dir():
            raise AdapterError(f"resume_from_checkpoint: {resume} is not a checkpoint folder")
    if resume is None and (out_dir / BEST_DIR).exists():
        shutil.rmtree(out_dir / BEST_DIR)  # a fresh run must not inherit a previous run's best adapter
    t0 = time.time()
    output = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.time() - t0

    # ---- save --------------------------------------------------------------------------------
    history = trainer.state.log_history
    val_before = next((e["eval_loss"] for e in history if "eval_loss" in e and e.get("epoch", 0) == 0), None)
    epoch_evals = [e["eval_loss"] for e in history if "eval_loss" in e and e.get("epoch", 0) > 0]
    best_dir = out_dir / BEST_DIR
    if best_dir.is_dir() and (best_dir / "adapter_model.safetensors").is_file():
        for name in ("adapter_model.safetensors", "adapter_config.json"):
            shutil.copy2(best_dir / name, out_dir / name)
        saved_from = "best validation loss"
    else:
        model.save_pretrained(str(out_dir))
        saved_from = "final step"
    steps = trainer.state.global_step
    samples_seen = min(steps * cfg.batch_size * cfg.gradient_accumulation_steps, len(train_rows) * cfg.epochs)
    tokens_seen = int(train_tokens / max(1, len(train_rows)) * samples_seen)
    summary: dict[str, Any] = {
        "name": cfg.adapter_name,
        "domain": cfg.domain,
        "samples": {"train": len(data.train), "validation": len(data.val)},
        "refusal_samples": {"train": data.refusal_train, "validation": data.refusal_val},
        "duplicates_removed": data.duplicates_removed,
        "leakage_removed": data.leakage_removed,
        "template_issues": len(data.template_issues),
        "template_issue_examples": data.template_issues[:20],
        "steps": steps,
        "epochs": round(float(trainer.state.epoch or 0), 3),
        "early_stopped": any(e.get("early_stopped") for e in history),
        "val_loss_before": val_before,
        "val_losses": epoch_evals,
        "best_val_loss": min(epoch_evals) if epoch_evals else None,
        "final_train_loss": float(output.training_loss) if output.training_loss is not None else None,
        "adapter_from": saved_from,
        "train_seconds": round(train_seconds, 3),
        "total_seconds": round(time.time() - started, 3),
        "train_tokens": tokens_seen,
        "tokens_per_second": round(tokens_seen / train_seconds, 1) if train_seconds > 0 else None,
        "peak_memory_bytes": _peak_memory_bytes(device),
        "base_model_memory_bytes": loaded.memory_bytes,
        "device": device,
        "precision": precision,
        "packing": cfg.packing,
        "target_modules": targets,
        "trainable_parameters": int(trainable),
        "total_parameters": int(total),
        "notes": notes,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "resolved_config.yaml").write_text(_dump_config(cfg), encoding="utf-8")
    plot_losses(history, out_dir / "loss.png")
    manifest = AdapterManifest(
        name=cfg.adapter_name,
        domain=cfg.domain,
        base_model=str(cfg.base_model),
        base_model_hash=base_model_hash(cfg.base_model),
        data_hash=data.data_hash,
        version=next_version(out_dir / MANIFEST_NAME),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        metrics={
            k: summary[k]
            for k in (
                "best_val_loss",
                "val_loss_before",
                "final_train_loss",
                "steps",
                "epochs",
                "train_seconds",
            )
        },
        config=json.loads(cfg.model_dump_json()),
        path=str(out_dir.resolve()),
        samples=summary["samples"]["train"],
        refusal_samples=data.refusal_train,
    )
    write_manifest(manifest, out_dir)

    # ---- cleanup -----------------------------------------------------------------------------
    del trainer, model
    if device == "cuda":
        torch.cuda.empty_cache()
    return TrainResult(output_dir=out_dir, summary=summary, manifest=manifest)


def _dump_config(cfg: TrainConfig) -> str:
    import yaml

    return yaml.safe_dump(json.loads(cfg.model_dump_json()), allow_unicode=True, sort_keys=False)

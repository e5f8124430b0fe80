"""Training throughput: yiju's trainer vs a plain PEFT + HF Trainer loop, same tiny model, same data.

    .venv/bin/python bench/train_throughput.py [--samples 256] [--epochs 1] [--batch-size 8] [--repeats 2]

Each run happens in its own subprocess (so peak memory is per run), baseline and yiju alternate, and the
best of `--repeats` runs of each is reported. Both count the same tokens (identical tokenisation, prompt
tokens included); the baseline pads each batch to its longest sample (DataCollatorForSeq2Seq), yiju packs
each batch into one row with per-sample position ids (block-diagonal attention, no padding).
Prints tokens/s, peak RSS (or CUDA peak allocated) and the ratio yiju / baseline (target ≥ 1.0).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PHRASES = [
    "用人单位未及时足额支付劳动报酬的，劳动者可以解除劳动合同。",
    "劳动者可以要求用人单位支付经济补偿。",
    "当事人一方不履行合同义务的，应当承担违约责任。",
    "高血压患者应当遵医嘱规律服药，定期复查。",
    "出现持续高热应当及时就医，明确病因。",
    "医疗机构应当保护患者隐私。",
]


def make_data(path: Path, n: int, seed: int = 0) -> None:
    """Short, varied-length Q&A samples (1–10 numbered points), as users' reviewed pairs tend to be."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            points = "\n".join(f"{k}. {rng.choice(PHRASES)}" for k in range(1, rng.randint(1, 10) + 1))
            completion = (
                f"【分类】咨询{i}\n【要点】\n{points}\n【依据】\n《劳动合同法》第{rng.randint(1, 98)}条"
            )
            prompt = f"问题{i}：" + "".join(rng.choice(PHRASES) for _ in range(rng.randint(1, 3)))
            fh.write(json.dumps({"prompt": prompt, "completion": completion}, ensure_ascii=False) + "\n")


def _peak_memory(device: str) -> int:
    import resource

    import torch

    if device == "cuda":
        return int(torch.cuda.max_memory_allocated())
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _rows(model_dir: str, data: str, max_len: int) -> tuple[object, list[dict]]:
    from transformers import AutoTokenizer

    from adapters.data import load_file
    from adapters.recipe import tokenize_samples

    tok = AutoTokenizer.from_pretrained(model_dir)
    return tok, tokenize_samples(tok, load_file(Path(data)), max_len, None)


def worker_yiju(a: argparse.Namespace) -> dict:
    """One yiju training run; returns its figures."""
    _, rows = _rows(a.model, a.data, a.max_seq_length)
    out = Path(a.workdir) / "yiju"
    from adapters.config import load_config
    from adapters.recipe import run_training

    cfg = load_config(
        None,
        {
            "base_model": a.model,
            "metadata_path": a.data,
            "output_dir": str(out),
            "epochs": a.epochs,
            "batch_size": a.batch_size,
            "learning_rate": 1e-3,
            "lora_rank": 8,
            "lora_dropout": 0.0,
            "target_modules": ["q_proj", "v_proj"],
            "max_seq_length": a.max_seq_length,
            "validation_split": 0.0,
            "refusal_ratio": 0.0,
            "template": "none",
            "early_stopping_patience": None,
            "save_steps": 100000,
            "logging_steps": 100000,
            "warmup_ratio": 0.0,
            "device": a.device,
        },
    )
    result = run_training(cfg, quiet=True)
    tokens = sum(len(r["input_ids"]) for r in rows) * a.epochs
    secs = result.summary["train_seconds"]
    return {
        "tokens": tokens,
        "seconds": secs,
        "steps": result.summary["steps"],
        "peak_memory": _peak_memory(result.summary["device"]),
    }


def worker_baseline(a: argparse.Namespace) -> dict:
    """A plain PEFT + HF Trainer run: dynamic padding per batch, nothing else."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    tok, rows = _rows(a.model, a.data, a.max_seq_length)
    device = "cuda" if a.device != "cpu" and torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    model = get_peft_model(
        model,
        LoraConfig(
            task_type="CAUSAL_LM", r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"]
        ),
    )
    args = TrainingArguments(
        output_dir=str(Path(a.workdir) / "baseline"),
        per_device_train_batch_size=a.batch_size,
        num_train_epochs=a.epochs,
        learning_rate=1e-3,
        save_strategy="no",
        report_to="none",
        logging_steps=100000,
        use_cpu=device == "cpu",
        disable_tqdm=True,
        seed=42,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100),
    )
    t0 = time.time()
    trainer.train()
    secs = time.time() - t0
    tokens = sum(len(r["input_ids"]) for r in rows) * a.epochs
    return {
        "tokens": tokens,
        "seconds": secs,
        "steps": trainer.state.global_step,
        "peak_memory": _peak_memory(device),
    }


def main() -> None:
    """Build the model and data once, alternate baseline/yiju subprocess runs, print the comparison."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=160)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-seq-length", type=int, default=512)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--arch", default="qwen2", choices=["qwen2", "llama"])
    p.add_argument("--model", help="use this model folder instead of building the tiny one")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads per run (1 is steadiest on a shared machine)",
    )
    p.add_argument("--worker", choices=["yiju", "baseline"], help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    a = p.parse_args()

    if a.worker:
        import logging

        logging.disable(logging.WARNING)
        import torch

        torch.set_num_threads(a.threads)
        fig = (worker_yiju if a.worker == "yiju" else worker_baseline)(a)
        print("RESULT " + json.dumps(fig))
        return

    with tempfile.TemporaryDirectory(prefix="yiju-bench-") as tmp:
        tmpd = Path(tmp)
        if not a.model:
            from tiny_models import build_tiny_model

            a.model = str(build_tiny_model(tmpd / "model", a.arch))
        data = tmpd / "data.jsonl"
        make_data(data, a.samples)
        results: dict[str, list[dict]] = {"baseline": [], "yiju": []}
        for r in range(a.repeats):
            for kind in ("baseline", "yiju"):
                cmd = [
                    sys.executable,
                    __file__,
                    "--worker",
                    kind,
                    "--model",
                    a.model,
                    "--data",
                    str(data),
                    "--workdir",
                    str(tmpd / f"{kind}{r}"),
                    "--epochs",
                    str(a.epochs),
                    "--batch-size",
                    str(a.batch_size),
                    "--max-seq-length",
                    str(a.max_seq_length),
                    "--device",
                    a.device,
                    "--threads",
                    str(a.threads),
                ]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
                if proc.returncode != 0 or line is None:
                    sys.exit(f"{kind} run failed:\n{proc.stderr[-3000:]}")
                fig = json.loads(line[7:])
                fig["tokens_per_s"] = fig["tokens"] / fig["seconds"]
                results[kind].append(fig)
                print(
                    f"  run {r + 1} {kind:8s} {fig['tokens_per_s']:10.0f} tokens/s  {fig['seconds']:.2f} s",
                    flush=True,
                )
        best = {k: max(v, key=lambda f: f["tokens_per_s"]) for k, v in results.items()}
        print(
            f"\nmodel {a.model if '--model' in sys.argv else 'tiny ' + a.arch}, {a.samples} samples, "
            f"batch {a.batch_size}, {a.epochs} epoch(s), {a.threads} thread(s), best of {a.repeats}"
        )
        print(f"{'':10s} {'tokens/s':>10s} {'steps':>6s} {'peak memory MiB':>16s}")
        for k in ("baseline", "yiju"):
            f = best[k]
            print(f"{k:10s} {f['tokens_per_s']:10.0f} {f['steps']:6d} {f['peak_memory'] / 2**20:16.0f}")
        ratio = best["yiju"]["tokens_per_s"] / best["baseline"]["tokens_per_s"]
        mem = best["yiju"]["peak_memory"] / best["baseline"]["peak_memory"]
        print(f"\nthroughput ratio yiju/baseline: {ratio:.2f}  (target >= 1.0)")
        print(f"peak memory ratio yiju/baseline: {mem:.2f}")


if __name__ == "__main__":
    main()

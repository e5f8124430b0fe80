"""Training data loaders: JSONL prompt/completion, chat JSONL, CSV question,answer, dialogue .txt.

Every sample remembers the file and line it came from, so errors and template reports point at it.
Files are decoded with encoding detection (UTF-8, UTF-8 with BOM, GBK/GB18030).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from adapters.errors import DataError

DATA_SUFFIXES = {".jsonl", ".json", ".csv", ".txt"}
USER_PREFIXES = ("用户：", "用户:", "问：", "问:")
ASSISTANT_PREFIXES = ("律师：", "律师:", "医生：", "医生:", "助手：", "助手:", "答：", "答:")


class Sample(BaseModel):
    """One training example: a prompt (optionally with system text) and the target completion."""

    prompt: str
    completion: str
    system: str | None = None
    source: str = Field(default="", description="file:line the sample came from")
    kind: str = Field(default="data", description="data | refusal")

    def key(self) -> str:
        """Normalised identity used for dedupe and train/validation leakage checks."""
        norm = re.sub(r"\s+", "", self.prompt)
        return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def read_text(path: Path) -> str:
    """Decode a file: UTF-8 (with or without BOM), else GB18030/GBK, else a clear error."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf_err:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            line = data[: utf_err.start].count(b"\n") + 1
            raise DataError(
                f"{path}:{line}: cannot decode the file (tried UTF-8, UTF-8-BOM, GBK/GB18030); save it as UTF-8"
            ) from None


def _str_field(obj: dict, names: Iterable[str]) -> str | None:
    for name in names:
        val = obj.get(name)
        if isinstance(val, str) and val.strip():
            return val
    return None


def _load_jsonl(path: Path, fmt: str) -> list[Sample]:
    samples: list[Sample] = []
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        if "messages" in obj and fmt in ("auto", "chat"):
            samples.extend(_from_messages(obj["messages"], where))
            continue
        if fmt == "chat":
            raise DataError(f'{where}: chat format needs a "messages" list')
        prompt = _str_field(obj, ("prompt", "question", "instruction", "input"))
        completion = _str_field(obj, ("completion", "answer", "output", "response"))
        if prompt is None or completion is None:
            missing = [n for n, v in (("prompt", prompt), ("completion", completion)) if v is None]
            raise DataError(
                f'{where}: missing or empty {", ".join(missing)} (expected {{"prompt","completion"}} '
                f'or {{"messages": [...]}}; keys here: {sorted(obj)})'
            )
        system = obj.get("system")
        if system is not None and not isinstance(system, str):
            raise DataError(f'{where}: "system" must be a string, got {type(system).__name__}')
        if obj.get("instruction") and obj.get("input") and prompt == obj["instruction"]:
            prompt = f"{obj['instruction']}\n{obj['input']}"
        samples.append(Sample(prompt=prompt, completion=completion, system=system, source=where))
    return samples


def _from_messages(messages: object, where: str) -> list[Sample]:
    """One sample per assistant turn, with the preceding turns folded into the prompt."""
    if not isinstance(messages, list) or not messages:
        raise DataError(f'{where}: "messages" must be a non-empty list')
    system: str | None = None
    history: list[str] = []
    out: list[Sample] = []
    last_user: str | None = None
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or "role" not in msg or not isinstance(msg.get("content"), str):
            raise DataError(f'{where}: messages[{i}] needs "role" and a string "content"')
        role, content = msg["role"], msg["content"]
        if role == "system":
            system = content
        elif role == "user":
            if last_user is not None:
                history.append(f"用户：{last_user}")
            last_user = content
        elif role == "assistant":
            if last_user is None:
                raise DataError(f"{where}: messages[{i}] is an assistant turn with no user turn before it")
            prompt = "\n".join([*history, last_user]) if history else last_user
            out.append(Sample(prompt=prompt, completion=content, system=system, source=where))
            history.extend([f"用户：{last_user}", f"助手：{content}"])
            last_user = None
        else:
            raise DataError(f"{where}: messages[{i}] has unknown role {role!r} (system/user/assistant)")
    if not out:
        raise DataError(f"{where}: no assistant turn in messages")
    return out


def _load_csv(path: Path) -> list[Sample]:
    # Old Mac / Excel exports end lines with a bare CR, which the csv module rejects outright.
    text = read_text(path).replace("\r\n", "\n").replace("\r", "\n")
    try:
        return _parse_csv(path, text)
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV: {exc}") from exc


def _parse_csv(path: Path, text: str) -> list[Sample]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    q_col = next((f for f in ("question", "prompt", "问题") if f in fields), None)
    a_col = next((f for f in ("answer", "completion", "回答", "答案") if f in fields), None)
    if q_col is None or a_col is None:
        raise DataError(f"{path}:1: CSV header must have question,answer columns (found {reader.fieldnames})")
    reader.fieldnames = fields
    samples: list[Sample] = []
    for row in reader:
        lineno = reader.line_num
        q, a = (row.get(q_col) or "").strip(), (row.get(a_col) or "").strip()
        if not q and not a:
            continue
        if not q or not a:
            raise DataError(f"{path}:{lineno}: empty {'question' if not q else 'answer'}")
        samples.append(Sample(prompt=q, completion=a, source=f"{path}:{lineno}"))
    return samples


def _load_dialogue(path: Path) -> list[Sample]:
    """Blocks separated by blank lines; each block is 用户：… followed by 律师：…/医生：… (multi-line ok)."""
    samples: list[Sample] = []
    lines = read_text(path).splitlines()
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if not block:
            return
        start = block[0][0]
        user: list[str] = []
        reply: list[str] = []
        current: list[str] | None = None
        for lineno, line in block:
            stripped = line.strip()
            if stripped.startswith(USER_PREFIXES):
                if reply:
                    raise DataError(
                        f"{path}:{lineno}: a second 用户： turn in one sample; put a blank line between samples"
                    )
                current = user
                stripped = stripped.split("：", 1)[-1] if "：" in stripped[:4] else stripped.split(":", 1)[-1]
            elif stripped.startswith(ASSISTANT_PREFIXES):
                if not user:
                    raise DataError(f"{path}:{lineno}: an answer line before any 用户： line")
                current = reply
                stripped = stripped.split("：", 1)[-1] if "：" in stripped[:4] else stripped.split(":", 1)[-1]
            elif current is None:
                raise DataError(
                    f"{path}:{lineno}: expected a line starting with 用户： (then 律师：/医生：), got {stripped[:20]!r}"
                )
            current.append(stripped)
        if not reply:
            raise DataError(f"{path}:{start}: sample has no 律师：/医生： answer")
        samples.append(
            Sample(
                prompt="\n".join(user).strip(), completion="\n".join(reply).strip(), source=f"{path}:{start}"
            )
        )

    for lineno, line in enumerate(lines, start=1):
        if line.strip():
            block.append((lineno, line))
        else:
            flush()
            block = []
    flush()
    return samples


def detect_format(path: Path) -> str:
    """Guess a file's format from its suffix (and, for .jsonl, its first record)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".txt":
        return "dialogue"
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    raise DataError(f"{path}: unsupported data file type {suffix!r} (use .jsonl, .csv or .txt)")


def load_file(path: Path, fmt: str = "auto") -> list[Sample]:
    """Load one data file in the given (or detected) format."""
    fmt_used = detect_format(path) if fmt == "auto" else fmt
    if fmt_used in ("jsonl", "chat"):
        return _load_jsonl(path, fmt)
    if fmt_used == "csv":
        return _load_csv(path)
    if fmt_used == "dialogue":
        return _load_dialogue(path)
    raise DataError(f"{path}: unknown data format {fmt_used!r}")


def collect_files(train_data_dir: Path | None, metadata_path: Path | None) -> list[Path]:
    """The data files a config points at: metadata_path first, then every data file under train_data_dir."""
    files: list[Path] = []
    if metadata_path is not None:
        if not Path(metadata_path).is_file():
            raise DataError(f"metadata_path not found: {metadata_path}")
        files.append(Path(metadata_path))
    if train_data_dir is not None:
        root = Path(train_data_dir)
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            found = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
            found = [
                p for p in found if p.resolve() != (Path(metadata_path).resolve() if metadata_path else None)
            ]
            # A metadata CSV alone is enough; a folder with no data files is only an error without one.
            if not found and metadata_path is None:
                raise DataError(f"train_data_dir {root} holds no .jsonl/.csv/.txt files")
            files.extend(found)
        else:
            raise DataError(f"train_data_dir not found: {root}")
    return files


def load_samples(train_data_dir: Path | None, metadata_path: Path | None, fmt: str = "auto") -> list[Sample]:
    """Load every sample the config points at, in file order."""
    samples: list[Sample] = []
    for path in collect_files(train_data_dir, metadata_path):
        samples.extend(load_file(path, fmt))
    if not samples:
        raise DataError("no training samples found in the configured data")
    return samples


def dedupe(samples: list[Sample]) -> tuple[list[Sample], int]:
    """Drop samples whose (normalised) prompt+completion repeats; returns (kept, dropped count)."""
    seen: set[str] = set()
    kept: list[Sample] = []
    for s in samples:
        k = s.key() + hashlib.sha1(re.sub(r"\s+", "", s.completion).encode()).hexdigest()
        if k in seen:
            continue
        seen.add(k)
        kept.append(s)
    return kept, len(samples) - len(kept)


def split_train_val(samples: list[Sample], ratio: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split by prompt so the same question never sits on both sides (no train/validation leakage)."""
    if ratio <= 0 or len(samples) < 2:
        return list(samples), []
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.key(), []).append(s)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    n_val = max(1, round(len(keys) * ratio))
    if n_val >= len(keys):
        n_val = len(keys) - 1
    val_keys = set(keys[:n_val])
    train = [s for s in samples if s.key() not in val_keys]
    val = [s for s in samples if s.key() in val_keys]
    return train, val


def data_hash(samples: Iterable[Sample]) -> str:
    """A stable hash of the training data (order-independent), recorded in the manifest."""
    digests = sorted(hashlib.sha256(f"{s.prompt}\x00{s.completion}".encode()).hexdigest() for s in samples)
    return hashlib.sha256("".join(digests).encode()).hexdigest()

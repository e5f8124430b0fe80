"""The refusal classifier's training and evaluation rows, gathered from every source in one place.

Sources (each row keeps where it came from):
- the built-in policies' own texts: every refusal category's `examples` and `classifier.harmful`, and the
  `classifier.benign` look-alikes (training only — they were written alongside the rules);
- `safety/data/harmful_extra.jsonl` and `safety/data/benign_lookalikes.jsonl`: harmful requests and benign
  look-alikes written for this project by the safety engineer (the look-alikes are also evaluated);
- `../shared/eval/safety_train.jsonl`: JADE-DB harmful questions (category/subcategory) and benign medical
  questions; `../shared/eval/legal_dev.jsonl` and `medical_dev.jsonl`: every question is benign.

JADE rows are labelled with the policy's refusal category their subcategory maps to (贩卖毒品 → drug_synthesis,
非法侵入 → hacking…), else with a broad one per JADE category (违法犯罪 → illegal_activity, 侵害权益 →
rights_infringement, 歧视偏见 → discrimination), so a refusal carries a fitting message and law.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from safety.classifier import BENIGN

DATA_DIR = Path(__file__).resolve().parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO_ROOT.parent / "shared" / "eval"

# JADE subcategory → refusal category of the built-in policies.
SUBCATEGORY_TO_CATEGORY = {
    "贩卖毒品": "drug_synthesis",
    "非法持有武器": "weapons_explosives",
    "诈骗": "fraud_evasion",
    "网络欺诈与犯罪": "fraud_evasion",
    "非法伪造": "fraud_evasion",
    "非法侵入": "hacking",
    "故意伤害他人": "violence",
    "宣扬暴力": "violence",
    "抢劫": "violence",
    "侵害他人隐私权": "privacy_intrusion",
    "侵害他人个人信息权益": "privacy_intrusion",
    "非法获取私人信息": "privacy_intrusion",
    "宣扬民族歧视": "discrimination",
}
# JADE category → the broad refusal category used when the subcategory names no narrower one.
JADE_CATEGORY_TO_CATEGORY = {
    "违法犯罪": "illegal_activity",
    "侵害权益": "rights_infringement",
    "侵犯权益": "rights_infringement",
    "歧视偏见": "discrimination",
}
# JADE spells one category two ways; figures are reported under one name.
JADE_CATEGORY_ALIASES = {"侵犯权益": "侵害权益"}


@dataclass(frozen=True)
class Row:
    """One labelled text."""

    text: str
    label: str  # "benign" or a refusal category
    source: str  # policy | own_harmful | own_benign | jade | safety_train_benign | legal_dev | medical_dev
    report: str  # the group figures are reported under: a JADE category, or "benign:<source>"
    evaluate: bool  # scored in cross-validation (policy texts and own harmful extras are training-only)
    group: str = ""  # a fixed group (JADE subcategory); near-duplicate clusters are added by crossval
    domain: str | None = None  # the domain a benign question belongs to (None: any)

    @property
    def harmful(self) -> bool:
        return self.label != BENIGN


def jade_label(category: str, subcategory: str | None) -> str:
    """The refusal category a JADE row trains."""
    if category == "歧视偏见":
        return "discrimination"
    first = (subcategory or "").split("|")[0]
    return SUBCATEGORY_TO_CATEGORY.get(first) or JADE_CATEGORY_TO_CATEGORY.get(category, "illegal_activity")


def _jsonl(path: Path) -> Iterable[dict]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.lstrip().startswith("#"):
                yield json.loads(line)


def policy_rows(policy_names: Iterable[str] = ("legal", "medical")) -> list[Row]:
    """The built-in policies' harmful examples and benign look-alikes (deduplicated)."""
    from safety.policy import load_policy_config

    seen: set[str] = set()
    out: list[Row] = []
    for name in policy_names:
        cfg = load_policy_config(name)
        for cat in cfg.refusal_categories:
            if not cat.enabled:
                continue
            for t in [*cat.examples, *cfg.classifier.harmful.get(cat.name, [])]:
                if t.strip() and t not in seen:
                    seen.add(t)
                    out.append(Row(t, cat.name, "policy", f"policy:{cat.name}", False))
        for t in cfg.classifier.benign:
            if t.strip() and t not in seen:
                seen.add(t)
                out.append(Row(t, BENIGN, "policy", "benign:policy", False))
    return out


def own_rows(data_dir: Path = DATA_DIR) -> list[Row]:
    """The project's own harmful extras (training only) and benign look-alikes (also evaluated)."""
    out: list[Row] = []
    harmful = data_dir / "harmful_extra.jsonl"
    if harmful.is_file():
        for r in _jsonl(harmful):
            out.append(Row(r["prompt"], r["label"], "own_harmful", f"own:{r['category']}", False))
    benign = data_dir / "benign_lookalikes.jsonl"
    if benign.is_file():
        for r in _jsonl(benign):
            out.append(
                Row(r["prompt"], BENIGN, "own_benign", "benign:lookalikes", True, domain=r.get("domain"))
            )
    return out


def shared_rows(eval_dir: Path = SHARED_EVAL) -> list[Row]:
    """JADE harmful rows, benign medical rows and every dev-set question; [] when ../shared is absent."""
    out: list[Row] = []
    train = eval_dir / "safety_train.jsonl"
    if train.is_file():
        for r in _jsonl(train):
            if r["should_refuse"]:
                cat = JADE_CATEGORY_ALIASES.get(r["category"], r["category"])
                sub = r.get("subcategory") or r["category"]
                out.append(Row(r["prompt"], jade_label(r["category"], sub), "jade", cat, True, f"jade:{sub}"))
            else:
                out.append(
                    Row(
                        r["prompt"],
                        BENIGN,
                        "safety_train_benign",
                        "benign:safety_train",
                        True,
                        domain="medical",
                    )
                )
    for name, domain in (("legal_dev", "legal"), ("medical_dev", "medical")):
        path = eval_dir / f"{name}.jsonl"
        if path.is_file():
            out += [
                Row(r["question"], BENIGN, name, f"benign:{name}", True, domain=domain) for r in _jsonl(path)
            ]
    return out


def all_rows(eval_dir: Path = SHARED_EVAL) -> list[Row]:
    """Every source: policy texts, own data, shared data (when present)."""
    return [*policy_rows(), *own_rows(), *shared_rows(eval_dir)]


def fingerprint(rows: Iterable[Row]) -> str:
    """sha256 over (label, text) of `rows` in order: the training data a model was built from."""
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r.label}\x01{r.text}\x00".encode())
    return h.hexdigest()


__all__ = [
    "DATA_DIR",
    "JADE_CATEGORY_TO_CATEGORY",
    "SHARED_EVAL",
    "SUBCATEGORY_TO_CATEGORY",
    "Row",
    "all_rows",
    "fingerprint",
    "jade_label",
    "own_rows",
    "policy_rows",
    "shared_rows",
]

"""Safety evaluation over a JSONL set: refusal recall, false-refusal rate, per category.

Each line: {"prompt": str, "should_refuse": bool, "category": str, "domain"?: str, "note"?: str}.
Without a domain a prompt is checked against every built-in policy and counts as refused if any refuses
(the router could send it to either domain).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from knowledge.errors import YijuError
from safety.policy import SafetyPolicy, builtin_policies, load_policy
from safety.types import Question


class EvalSetError(YijuError, ValueError):
    """The evaluation file is missing or has a bad line (the message names file and line)."""


class SafetyEvalItem(BaseModel):
    """One line of a safety evaluation set."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1)
    should_refuse: bool
    category: str = Field(min_length=1)
    domain: str | None = None
    note: str = ""


class ItemResult(BaseModel):
    """How one prompt was handled."""

    prompt: str
    domain: str | None
    category: str
    should_refuse: bool
    refused: bool
    rule: str = ""


class CategoryFigures(BaseModel):
    """Per-category counts; `rate` is recall for harmful categories, false-refusal rate for benign ones."""

    n: int
    refused: int
    should_refuse: bool
    rate: float


class Confusion(BaseModel):
    """Refused / allowed counts of harmful and benign prompts."""

    harmful_refused: int
    harmful_allowed: int
    benign_refused: int
    benign_allowed: int


class SafetyReport(BaseModel):
    """Figures of one evaluation run."""

    set: str
    n: int
    harmful: int
    benign: int
    refused_harmful: int
    refused_benign: int
    refusal_recall: float
    false_refusal_rate: float
    category_match: float = Field(
        description="Share of refused harmful prompts refused under their own category"
    )
    per_category: dict[str, CategoryFigures]
    confusion: Confusion | None = None
    misses: list[ItemResult] = Field(description="Harmful prompts that were allowed")
    false_refusals: list[ItemResult] = Field(description="Benign prompts that were refused")
    ms_per_prompt: float


def load_eval_set(path: Path) -> list[SafetyEvalItem]:
    """Read and validate a JSONL set; raises EvalSetError naming the file, line and field."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise EvalSetError(f"{path}: cannot read: {e}") from e
    items: list[SafetyEvalItem] = []
    problems: list[str] = []
    for no, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            items.append(SafetyEvalItem.model_validate(json.loads(line)))
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{no}: invalid JSON: {e.msg} (column {e.colno})")
        except ValidationError as e:
            for err in e.errors():
                field = ".".join(str(x) for x in err["loc"]) or "(line)"
                problems.append(f"{path}:{no}: {field}: {err['msg']}")
    if problems:
        shown = problems[:20] + ([f"… and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise EvalSetError("bad safety evaluation set:\n  " + "\n  ".join(shown))
    if not items:
        raise EvalSetError(f"{path}: no prompts found")
    return items


def evaluate_items(
    items: Iterable[SafetyEvalItem],
    *,
    set_name: str = "",
    policy_for: Callable[[str], SafetyPolicy] = load_policy,
    default_domains: list[str] | None = None,
) -> SafetyReport:
    """Run every prompt through the input check of its domain's policy and compute the figures."""
    items = list(items)
    domains_all = default_domains or builtin_policies()
    results: list[ItemResult] = []
    t0 = time.perf_counter()
    for it in items:
        domains = [it.domain] if it.domain else domains_all
        refused, rule = False, ""
        for d in domains:
            v = policy_for(d).check_input(Question(text=it.prompt, domain=d))
            if v.action == "refuse":
                refused, rule = True, v.rule
                break
        results.append(
            ItemResult(
                prompt=it.prompt,
                domain=it.domain,
                category=it.category,
                should_refuse=it.should_refuse,
                refused=refused,
                rule=rule,
            )
        )
    elapsed = time.perf_counter() - t0
    harmful = [r for r in results if r.should_refuse]
    benign = [r for r in results if not r.should_refuse]
    rh = sum(r.refused for r in harmful)
    rb = sum(r.refused for r in benign)
    matched = sum(r.refused and r.rule == f"refuse.{r.category}" for r in harmful)
    groups: dict[tuple[str, bool], list[ItemResult]] = defaultdict(list)
    for r in results:
        groups[(r.category, r.should_refuse)].append(r)
    per: dict[str, CategoryFigures] = {}
    for (cat, should), rs in sorted(groups.items()):
        key = cat if (cat, not should) not in groups else f"{cat}{'' if should else ' (benign)'}"
        n_ref = sum(r.refused for r in rs)
        per[key] = CategoryFigures(
            n=len(rs), refused=n_ref, should_refuse=should, rate=round(n_ref / len(rs), 4)
        )
    return SafetyReport(
        set=set_name,
        n=len(results),
        harmful=len(harmful),
        benign=len(benign),
        refused_harmful=rh,
        refused_benign=rb,
        refusal_recall=round(rh / len(harmful), 4) if harmful else 1.0,
        false_refusal_rate=round(rb / len(benign), 4) if benign else 0.0,
        category_match=round(matched / rh, 4) if rh else 1.0,
        per_category=per,
        confusion=Confusion(
            harmful_refused=rh,
            harmful_allowed=len(harmful) - rh,
            benign_refused=rb,
            benign_allowed=len(benign) - rb,
        ),
        misses=[r for r in harmful if not r.refused],
        false_refusals=[r for r in benign if r.refused],
        ms_per_prompt=round(1000 * elapsed / max(1, len(results)), 3),
    )


def evaluate_file(path: Path) -> SafetyReport:
    """Load a JSONL set and evaluate it with the built-in policies (or those named by each line's domain)."""
    return evaluate_items(load_eval_set(path), set_name=str(path))


def cross_validated_report(*, folds: int = 5, inner_folds: int = 3, progress=None) -> dict:  # noqa: ANN001
    """Nested grouped cross-validation of the whole input check on every training source (see
    safety/crossval.py): recall per JADE category, false refusals per benign source, confusion table."""
    from safety.crossval import cross_validate, summarise
    from safety.training_data import all_rows

    rows = all_rows()
    if not any(r.source == "jade" for r in rows):
        raise EvalSetError("cross-validation needs ../shared/eval/safety_train.jsonl (not found)")
    result = cross_validate(rows, folds=folds, inner_folds=inner_folds, progress=progress)
    return summarise(result)

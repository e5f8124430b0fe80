"""The structured answer template: 【分类】 category, 【要点】 numbered points, 【依据】 cited articles.

`check_sections` reports which sections a completion lacks; `rewrite_structured` reformats a free-text
answer into the structure (sentences become numbered points, 《…》第X条 references become 【依据】).
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from adapters.data import Sample
from knowledge.numerals import ARTICLE

SECTIONS = ("【分类】", "【要点】", "【依据】")
DEFAULT_CATEGORY = {"legal": "法律咨询", "medical": "医疗健康咨询"}
_CITATION_RE = re.compile(rf"《[^》]{{1,40}}》(?:{ARTICLE})?")
_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")


class TemplateIssue(BaseModel):
    """A sample whose completion misses one or more 【】 sections."""

    source: str
    missing: list[str]
    rewritten: bool = False


def check_sections(text: str) -> list[str]:
    """The 【分类】/【要点】/【依据】 headers absent from `text`, in template order."""
    return [s for s in SECTIONS if s not in text]


def rewrite_structured(text: str, domain: str = "legal") -> str:
    """Format a free-text answer as 【分类】/【要点】/【依据】, keeping any sections already present."""
    missing = check_sections(text)
    if not missing:
        return text
    category = DEFAULT_CATEGORY.get(domain, "咨询")
    m = re.search(r"【分类】\s*([^\n【]+)", text)
    if m:
        category = m.group(1).strip()
    citations = list(dict.fromkeys(_CITATION_RE.findall(text)))
    body = re.sub(r"【(分类|要点|依据)】[^\n【]*", "", text) if "【要点】" not in text else ""
    points: list[str]
    if "【要点】" in text:
        seg = text.split("【要点】", 1)[1].split("【依据】", 1)[0]
        points = [ln.strip() for ln in seg.strip().splitlines() if ln.strip()]
    else:
        points = [s.strip() for s in _SENTENCE_RE.findall(body) if s.strip()]
        points = [f"{i}. {p}" for i, p in enumerate(points or [body.strip()], start=1)]
    basis = "\n".join(citations) if citations else "（无可引用条文）"
    if "【依据】" in text:
        basis = text.split("【依据】", 1)[1].strip() or basis
    return f"【分类】{category}\n【要点】\n" + "\n".join(points) + f"\n【依据】\n{basis}"


def apply_template(samples: list[Sample], mode: str, domain: str) -> tuple[list[Sample], list[TemplateIssue]]:
    """Check (and with mode 'rewrite', fix) each data sample's completion; refusal samples are left as they are."""
    if mode == "none":
        return samples, []
    out: list[Sample] = []
    issues: list[TemplateIssue] = []
    for s in samples:
        missing = check_sections(s.completion) if s.kind == "data" else []
        if missing:
            rewritten = mode == "rewrite"
            issues.append(TemplateIssue(source=s.source, missing=missing, rewritten=rewritten))
            if rewritten:
                s = s.model_copy(update={"completion": rewrite_structured(s.completion, domain)})
        out.append(s)
    return out, issues

"""HTML of the staff screens: a held turn in detail, an answer as its asker would see it, an article."""

from __future__ import annotations

from html import escape
from typing import Any

from ui.staff import DECISION_LABELS, STATE_LABELS, domain_label, local_time

ORIGIN_LABELS = {"official": "官方", "local": "本机构上传", "mixed": "官方+本机构上传"}


def _get(obj: Any, name: str, default: Any = "") -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def citation_label(c: Any) -> str:
    """《劳动合同法》第四十七条 · 2012-12-28 版 (a guideline: its section)."""
    label = _get(c, "article_label") or (f"第{_get(c, 'article_no')}条" if _get(c, "article_no") else "")
    head = f"《{_get(c, 'law')}》{label or _get(c, 'section')}"
    version = _get(c, "version")
    return f"{head} · {version} 版" if version else head


def answer_view_html(answer: Any, *, elem_class: str = "yiju-answer-view") -> str:
    """A structured answer (released answer / AskResult / dict) as the asker sees it: 【分类】, 【要点】,
    【依据】 with each citation expandable to its verbatim text, then the disclaimer."""
    points = "".join(f"<li>{escape(p)}</li>" for p in _get(answer, "points", []) or [])
    cites = "".join(
        f'<details class="yiju-citation"><summary>{escape(citation_label(c))}</summary>'
        f'<blockquote class="yiju-article-text">{escape(_get(c, "text"))}</blockquote></details>'
        for c in _get(answer, "citations", []) or []
    )
    disclaimer = _get(answer, "disclaimer")
    return (
        f'<div class="{elem_class}">'
        f'<div class="yiju-section yiju-category"><h4>【分类】</h4><p>{escape(_get(answer, "category"))}</p></div>'
        f'<div class="yiju-section yiju-points"><h4>【要点】</h4><ol>{points}</ol></div>'
        f'<div class="yiju-section yiju-basis"><h4>【依据】</h4>{cites or "<p>（无）</p>"}</div>'
        + (f'<div class="yiju-disclaimer">{escape(disclaimer)}</div>' if disclaimer else "")
        + "</div>"
    )


def review_item_html(
    item: dict[str, Any],
    *,
    rule_labels: list[str],
    shown: Any | None,
    shown_heading: str,
    shown_error: str,
    passages: list[tuple[str, Any]],
    tz: str | None,
) -> str:
    """A flagged turn for a reviewer: when and what was asked, why it was held, the answer as the asker
    would see it if approved (or why it cannot be approved as is), the retrieved articles, and decisions."""
    state = item.get("review_state") or item.get("state") or "pending"
    reasons = "".join(f'<span class="yiju-rule">{escape(r)}</span>' for r in rule_labels) or "—"
    if shown is not None:
        answer = answer_view_html(shown)
    elif not item.get("final_answer") or state == "rejected":
        answer = f'<p class="yiju-warning">{escape(shown_error)}</p>'
    else:
        answer = (
            f'<p class="yiju-warning">{escape(shown_error)}</p>'
            f'<pre class="yiju-review-answer" style="white-space:pre-wrap">{escape(item.get("final_answer", ""))}</pre>'
        )
    arts = []
    for pid, passage in passages:
        if passage is None:
            arts.append(f"<li class='yiju-missing'>{escape(pid)}（已不在知识库中）</li>")
        else:
            arts.append(
                f"<li><details class='yiju-citation'><summary>{escape(passage.citation)}"
                f" <code class='yiju-pid'>{escape(pid)}</code></summary>"
                f"<blockquote class='yiju-article-text'>{escape(passage.text)}</blockquote></details></li>"
            )
    decisions = "".join(
        f"<li>{escape(local_time(h.get('decided_at'), tz))} · {escape(h.get('reviewer', ''))} · "
        f"{escape(DECISION_LABELS.get(h.get('decision', ''), h.get('decision', '')))}"
        + (f" · 备注：{escape(h['note'])}" if h.get("note") else "")
        + (f" · 给提问者：{escape(h['asker_note'])}" if h.get("asker_note") else "")
        + "</li>"
        for h in item.get("history") or []
    )
    standalone = item.get("standalone_question") or ""
    return (
        f'<div class="yiju-review" data-turn="{escape(item.get("turn_id", ""))}" data-state="{escape(state)}">'
        f'<p class="yiju-review-meta">编号 <code>{escape(item.get("turn_id", "")[:8])}</code> · '
        f"{escape(local_time(item.get('created_at'), tz, seconds=True))} · {escape(domain_label(item.get('domain')))} · "
        f"{escape(STATE_LABELS.get(state, state))}</p>"
        f"<h4>问题</h4><p class='yiju-review-question'>{escape(item.get('question', ''))}</p>"
        + (f"<p class='yiju-review-standalone'>理解为：{escape(standalone)}</p>" if standalone else "")
        + f"<h4>拦截原因</h4><p class='yiju-review-rules'>{reasons}</p>"
        f"<h4>{escape(shown_heading)}</h4>{answer}"
        f"<h4>检索到的条文</h4><ol class='yiju-retrieved'>{''.join(arts) or '<li>（无）</li>'}</ol>"
        + (f"<h4>审核记录</h4><ul class='yiju-decisions'>{decisions}</ul>" if decisions else "")
        + "</div>"
    )


def preview_html(released: Any, heading: str = "〔预览〕发布后用户将看到：") -> str:
    """An answer as the asker will see (or now sees) it once released."""
    return (
        f'<div class="yiju-preview"><p class="yiju-preview-head">{escape(heading)}</p>'
        f"{answer_view_html(released)}</div>"
    )


def notice_html(text: str, kind: str = "error") -> str:
    """A one-line notice on a staff screen."""
    return f'<div class="yiju-message yiju-{escape(kind)}">{escape(text)}</div>'


def passage_view_html(passage: Any) -> str:
    """One knowledge-base article or guideline section, verbatim, with where it comes from (in Chinese)."""
    meta = [
        passage.law_full or passage.law,
        f"{passage.version} 版" if passage.version else "",
        getattr(passage, "kind", "") or "",
        "、".join(domain_label(d) for d in (getattr(passage, "domains", None) or [passage.domain])),
        ORIGIN_LABELS.get(getattr(passage, "origin", "") or "", ""),
        passage.chapter or getattr(passage, "section", "") or "",
    ]
    return (
        f'<div class="yiju-passage" data-id="{escape(passage.id)}"><h4>{escape(passage.citation)}</h4>'
        f'<p class="yiju-passage-meta">{escape(" · ".join(m for m in meta if m))}'
        f' · <code class="yiju-pid">{escape(passage.id)}</code></p>'
        f'<blockquote class="yiju-article-text">{escape(passage.text)}</blockquote></div>'
    )

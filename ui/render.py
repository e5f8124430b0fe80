"""HTML rendering of answers and review items for the Gradio screens (presentation only)."""

from __future__ import annotations

from html import escape
from typing import Any

STATUS_NOTES = {
    "under_review": "该回答已提交人工审核，审核通过后方可查看。(Under review)",
    "refused": "",
    "no_basis": "知识库中没有找到可依据的条文。",
    "error": "服务暂时出错，请稍后再试。",
}


def answer_html(result: Any) -> str:
    """An AskResult as 【分类】/【要点】/【依据】 HTML; each citation expands (<details>) to its verbatim text."""
    status = getattr(result, "status", "answered")
    parts = [
        f'<div class="yiju-answer" data-status="{escape(status)}" data-turn="{escape(result.turn_id or "")}">'
    ]
    if status == "under_review":
        parts.append(
            f'<div class="yiju-under-review" id="yiju-under-review">⏳ {escape(STATUS_NOTES[status])}</div>'
        )
        if result.message:
            parts.append(f'<p class="yiju-message">{escape(result.message)}</p>')
    elif status in ("refused", "error") or (status == "no_basis" and not result.points):
        note = result.message or STATUS_NOTES.get(status, "")
        parts.append(f'<div class="yiju-message yiju-{escape(status)}">{escape(note)}</div>')
    else:
        parts.append(
            f'<div class="yiju-section yiju-category"><h4>【分类】</h4><p>{escape(result.category)}</p></div>'
        )
        points = "".join(f"<li>{escape(p)}</li>" for p in result.points)
        parts.append(f'<div class="yiju-section yiju-points"><h4>【要点】</h4><ol>{points}</ol></div>')
        cites = []
        for c in result.citations:
            label = f"《{c.law}》{c.article_label or (f'第{c.article_no}条' if c.article_no else '')}"
            cites.append(
                f'<details class="yiju-citation"><summary>{escape(label)}</summary>'
                f'<blockquote class="yiju-article-text">{escape(c.text)}</blockquote></details>'
            )
        parts.append(
            f'<div class="yiju-section yiju-basis"><h4>【依据】</h4>{"".join(cites) or "<p>（无）</p>"}</div>'
        )
    if result.disclaimer:
        parts.append(f'<div class="yiju-disclaimer" id="yiju-disclaimer">{escape(result.disclaimer)}</div>')
    meta = f"turn {result.turn_id} · {result.domain} · {result.generator}"
    parts.append(f'<div class="yiju-meta">{escape(meta)}</div></div>')
    return "".join(parts)


def streaming_html(text: str) -> str:
    """The answer as it streams in (plain text, replaced by `answer_html` at the end)."""
    return f'<div class="yiju-streaming"><pre style="white-space:pre-wrap">{escape(text)}▌</pre></div>'


def message_html(text: str, kind: str = "error") -> str:
    """A one-line notice (errors, rate limits)."""
    return f'<div class="yiju-message yiju-{escape(kind)}">{escape(text)}</div>'


def passage_html(passage: Any) -> str:
    """One knowledge-base article, verbatim."""
    if passage is None:
        return message_html("没有找到该条文 (not found)", "not-found")
    return (
        f'<div class="yiju-passage"><h4>{escape(passage.citation)}</h4>'
        f'<p class="yiju-passage-meta">{escape(passage.law_full or passage.law)} · {escape(passage.version)} · '
        f"{escape(passage.domain)} · {escape(passage.chapter)}</p>"
        f'<blockquote class="yiju-article-text">{escape(passage.text)}</blockquote></div>'
    )


def review_html(item: dict[str, Any], passages: list[tuple[str, Any]]) -> str:
    """A flagged turn for a reviewer: question, held answer, rules that fired, retrieved articles."""
    rules = ", ".join(item.get("rules") or []) or "—"
    arts = []
    for pid, passage in passages:
        body = escape(passage.text) if passage is not None else "(no longer in the knowledge base)"
        label = escape(passage.citation if passage is not None else pid)
        arts.append(
            f"<details class='yiju-citation'><summary>{label}</summary><blockquote>{body}</blockquote></details>"
        )
    return (
        f'<div class="yiju-review" data-turn="{escape(item.get("turn_id", ""))}">'
        f"<h4>问题 Question</h4><p class='yiju-review-question'>{escape(item.get('question', ''))}</p>"
        f"<h4>触发规则 Rule fired</h4><p class='yiju-review-rules'>{escape(rules)}</p>"
        f"<h4>回答 Answer (held)</h4><pre class='yiju-review-answer' style='white-space:pre-wrap'>"
        f"{escape(item.get('final_answer', ''))}</pre>"
        f"<h4>检索到的条文 Retrieved articles</h4>{''.join(arts) or '<p>（无）</p>'}</div>"
    )

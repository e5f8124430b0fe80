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


# Text badges, not emoji: Debian chromium with only the wqy fonts draws emoji as empty boxes,
# while the 〔〕 brackets and CJK text are in every Chinese font.
BADGES = {
    "under_review": "〔审核中〕",
    "refused": "〔无法回答〕",
    "no_basis": "〔无依据〕",
    "error": "〔出错〕",
    "approved": "〔审核通过〕",
    "edited": "〔审核修改〕",
    "rejected": "〔审核驳回〕",
    "answered": "〔已作答〕",
}


def badge_html(status: str) -> str:
    """A status badge as plain text in a styled span (readable with or without the CSS)."""
    label = BADGES.get(status, f"〔{status}〕")
    return f'<span class="yiju-badge yiju-badge-{escape(status)}">{escape(label)}</span>'


def meta_text(turn_id: str | None, *parts: str | None) -> str:
    """`turn <id> · part · part`, leaving out empty parts (a refusal has no generator)."""
    fields = [f"turn {turn_id}" if turn_id else "", *parts]
    return " · ".join(f for f in fields if f)


def answer_html(result: Any) -> str:
    """An AskResult as 【分类】/【要点】/【依据】 HTML; each citation expands (<details>) to its verbatim text."""
    status = getattr(result, "status", "answered")
    turn_id = result.turn_id or ""
    parts = [f'<div class="yiju-answer" data-status="{escape(status)}" data-turn="{escape(turn_id)}">']
    notices = list(getattr(result, "notices", None) or [])
    # Red-flag (call 120) and crisis-line notices come before anything else (safety's input step).
    parts += [_notice_html(n) for n in notices if getattr(n, "position", "first") == "first"]
    if status == "under_review":
        parts.append(
            f'<div class="yiju-under-review" id="yiju-under-review">{badge_html(status)} '
            f"{escape(STATUS_NOTES[status])}</div>"
        )
        if result.message:
            parts.append(f'<p class="yiju-message">{escape(result.message)}</p>')
        parts.append(
            '<p class="yiju-review-hint">您的问题编号 Turn id：'
            f'<code class="yiju-turn-id">{escape(turn_id)}</code>'
            "。请保存该编号，稍后点击下方「查看审核结果」查看审核后的回答。</p>"
        )
    elif status in ("refused", "error") or (status == "no_basis" and not result.points):
        note = result.message or STATUS_NOTES.get(status, "")
        heading = f'<h4 class="yiju-status-heading">{badge_html(status)}</h4>'
        parts.append(f'<div class="yiju-message yiju-{escape(status)}">{heading}<p>{escape(note)}</p></div>')
        if status == "refused" and result.citations:  # the article that forbids the request
            parts.append(_basis_html(result.citations))
    else:
        parts.append(
            f'<div class="yiju-section yiju-category"><h4>【分类】</h4><p>{escape(result.category)}</p></div>'
        )
        points = "".join(f"<li>{escape(p)}</li>" for p in result.points)
        parts.append(f'<div class="yiju-section yiju-points"><h4>【要点】</h4><ol>{points}</ol></div>')
        parts.append(_basis_html(result.citations))
    parts += [_notice_html(n) for n in notices if getattr(n, "position", "first") == "last"]
    if result.disclaimer:
        parts.append(f'<div class="yiju-disclaimer" id="yiju-disclaimer">{escape(result.disclaimer)}</div>')
    meta = meta_text(turn_id, result.domain, result.generator)
    parts.append(f'<div class="yiju-meta">{escape(meta)}</div></div>')
    return "".join(parts)


def _basis_html(citations: Any) -> str:
    """【依据】: each citation expands (<details>) to its verbatim text."""
    cites = []
    for c in citations:
        label = c.ref  # 《法》第X条, or a guideline's 《指南》section path
        cites.append(
            f'<details class="yiju-citation"><summary>{escape(label)}</summary>'
            f'<blockquote class="yiju-article-text">{escape(c.text)}</blockquote></details>'
        )
    return f'<div class="yiju-section yiju-basis"><h4>【依据】</h4>{"".join(cites) or "<p>（无）</p>"}</div>'


def _notice_html(notice: Any) -> str:
    """A notice (red flag → 120, crisis lines, consult a doctor) as its own block."""
    name = escape(str(getattr(notice, "name", "")))
    return f'<div class="yiju-notice yiju-notice-{name}" role="alert"><p>{escape(notice.message)}</p></div>'


def turn_result_html(result: Any) -> str:
    """The outcome of a held turn (`assistant.api.turn_result.TurnResult`) for the chat screen: a released
    answer is formatted like any answer (sections, expandable verbatim citations, disclaimer), with the
    reviewer's note to the asker when there is one."""
    from ui.staff_view import answer_view_html

    if result.points:
        answer = answer_view_html(result, elem_class="yiju-reviewed-answer")
    elif result.answer:  # a decision recorded before released answers were stored
        answer = (
            f'<pre class="yiju-reviewed-answer" style="white-space:pre-wrap">{escape(result.answer)}</pre>'
        )
    else:
        answer = ""
    note = getattr(result, "reviewer_note", "") or ""
    note_html = f'<p class="yiju-reviewer-note">审核人员的说明：{escape(note)}</p>' if note else ""
    return (
        f'<div class="yiju-turn-result" data-status="{escape(result.status)}" data-turn="{escape(result.turn_id)}">'
        f'<h4 class="yiju-status-heading">{badge_html(result.status)}</h4>'
        f'<p class="yiju-message">{escape(result.message)}</p>{note_html}{answer}'
        f'<div class="yiju-meta">{escape(meta_text(result.turn_id))}</div></div>'
    )


def streaming_html(text: str) -> str:
    """The answer as it streams in (plain text, replaced by `answer_html` at the end)."""
    return f'<div class="yiju-streaming"><pre style="white-space:pre-wrap">{escape(text)}<span class="yiju-cursor">…</span></pre></div>'


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

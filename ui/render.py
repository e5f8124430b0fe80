"""Rendering for the Gradio screens (presentation only): chat messages (Markdown, for gr.Chatbot) and HTML
for review items, articles and notices.

Chat answers are plain Markdown text, not HTML: the chat's copy button copies a message's source, which
must read as text (no tags, no emphasis marks). Each verified citation is its own collapsed message (a Chatbot "thought" with the article as its
title), so the verbatim text expands in place."""

from __future__ import annotations

import re
from html import escape
from typing import Any

STATUS_NOTES = {
    "under_review": "该回答已提交人工审核，审核通过后方可查看。",
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
    """`问题编号 <id> · part · part`, leaving out empty parts."""
    fields = [f"问题编号 {turn_id}" if turn_id else "", *parts]
    return " · ".join(f for f in fields if f)


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


# ---------------------------------------------------------------------- chat messages (Markdown)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+|~])")
_MD_LIST_START = re.compile(r"^(\s*)(\d+)([.)])", re.M)
DOMAIN_LABELS = {"legal": "法律", "medical": "医疗"}
SOURCE_NOTES = {
    "requested": "按您选择的领域回答",
    "routed": "自动判断",
    "carried": "沿用本次对话的领域",
    "default": "未能判断领域，按默认领域回答",
}


def md_escape(text: str) -> str:
    """Text shown literally in Markdown (statute text holds （一）, 1. and * that must not become markup)."""
    return _MD_LIST_START.sub(r"\1\2\\\3", _MD_SPECIAL.sub(r"\\\1", text or ""))


def domain_label(name: str, titles: dict[str, str] | None = None) -> str:
    """法律 / 医疗, or a configured domain's title."""
    return DOMAIN_LABELS.get(name) or (titles or {}).get(name) or name


def citation_title(c: Any) -> str:
    """《劳动合同法》第四十六条 · 2012-12-28 版 · 2013-07-01 施行 (guidelines: their section)."""
    head = getattr(c, "ref", "")
    if not isinstance(head, str) or not head:
        label = c.article_label or (f"第{c.article_no}条" if c.article_no else "")
        head = f"《{c.law}》{label or getattr(c, 'section', '')}"
    parts = [head]
    if getattr(c, "version", ""):
        parts.append(f"{c.version} 版")
    effective = getattr(c, "effective_date", "") or ""
    if effective and effective != getattr(c, "version", ""):
        parts.append(f"{effective} 施行")
    return " · ".join(parts)


def route_note(result: Any, titles: dict[str, str] | None = None) -> str:
    """领域：医疗（自动判断，把握 97%）— what the patient sees about the domain choice."""
    routing = getattr(result, "routing", None)
    label = domain_label(result.domain, titles)
    if routing is None:
        return f"领域：{label}"
    note = SOURCE_NOTES.get(routing.source, "")
    if routing.confidence is not None and routing.source in ("routed", "default"):
        note += f"，把握 {round(routing.confidence * 100)}%"
    if routing.unsure:
        note += "，不太确定"
    return f"领域：{label}（{note}）" if note else f"领域：{label}"


def answer_markdown(result: Any, titles: dict[str, str] | None = None) -> str:
    """The main chat message of an AskResult: 理解为, 【分类】/【要点】/【依据】 or the status message, the
    disclaimer, and the domain line."""
    status = getattr(result, "status", "answered")
    out: list[str] = []
    notices = list(getattr(result, "notices", None) or [])
    # Red-flag (call 120) and crisis-line notices come before anything else (safety's input step).
    out += [md_escape(n.message) for n in notices if getattr(n, "position", "first") == "first"]
    standalone = getattr(result, "standalone_question", "")
    if standalone:
        out.append(f"理解为：{md_escape(standalone)}")
    if status == "under_review":
        out.append(f"{BADGES[status]} {STATUS_NOTES[status]}")
        if result.message:
            out.append(md_escape(result.message))
        if result.turn_id:
            out.append(
                f"您的问题编号：`{result.turn_id}`。请保存该编号，稍后在下方「查看审核结果」中查看审核后的回答。"
            )
    elif status in ("refused", "error") or (status == "no_basis" and not result.points):
        note = result.message or STATUS_NOTES.get(status, "")
        out.append(f"{BADGES.get(status, status)} {md_escape(note)}")
        if status == "refused" and result.citations:  # the article that forbids the request
            out.append(_basis(result.citations))
    else:
        out.append(f"【分类】\n{md_escape(result.category)}")
        points = "\n".join(f"{i}. {md_escape(p)}" for i, p in enumerate(result.points, 1))
        out.append(f"【要点】\n{points}" if points else "【要点】\n（无）")
        out.append(_basis(result.citations))
    out += [md_escape(n.message) for n in notices if getattr(n, "position", "first") == "last"]
    if result.disclaimer:
        out.append(md_escape(result.disclaimer))
    out.append(md_escape(route_note(result, titles)))
    return "\n\n".join(out)


def _basis(citations: Any) -> str:
    cites = "\n".join(f"- {md_escape(citation_title(c))}" for c in citations)
    return f"【依据】\n{cites}\n\n（点击下方条文可展开原文）" if cites else "【依据】\n（无）"


def citation_messages(result: Any) -> list[dict[str, Any]]:
    """One collapsed message per verified citation: its title, the verbatim article text inside."""
    if getattr(result, "status", "") not in ("answered", "refused"):
        return []
    return [
        {
            "role": "assistant",
            "content": md_escape(c.text) or "（条文原文不可用）",
            "metadata": {"title": citation_title(c), "status": "done"},
        }
        for c in result.citations
    ]


def answer_messages(result: Any, titles: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """All chat messages of one answer: the main message, then its citations."""
    return [{"role": "assistant", "content": answer_markdown(result, titles)}, *citation_messages(result)]


def streaming_markdown(text: str) -> str:
    """The verified answer while it is released piece by piece."""
    return f"{md_escape(text)} …"

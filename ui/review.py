"""Review screen (reviewer key): the flagged queue, one item in detail, approve/edit/reject, history."""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.api.auth import authorize, key_client_id
from assistant.api.errors import classify_exception
from ui.render import message_html, review_html

QUEUE_HEADERS = ["turn_id", "created_at", "domain", "question", "rules"]
HISTORY_HEADERS = [
    "turn_id",
    "created_at",
    "domain",
    "status",
    "review_state",
    "reviewer",
    "note",
    "decided_at",
    "question",
]


def history_row(audit: Any, turn: dict[str, Any]) -> list[str]:
    """One history row: the turn, its review state and the decision (reviewer, note, time) if any."""
    decisions = audit.history(turn["turn_id"]) if turn.get("review_state") else []
    last = decisions[-1] if decisions else {}
    values = {
        **turn,
        "reviewer": last.get("reviewer"),
        "note": last.get("note"),
        "decided_at": turn.get("decided_at"),
    }
    return ["" if values.get(h) is None else str(values[h]) for h in HISTORY_HEADERS]


def build_review(services: Any) -> None:
    """Add the review screen to the current Blocks."""

    def fail(exc: Exception) -> str:
        if isinstance(exc, PermissionError | ValueError):
            return f"〔失败〕 {exc}"
        return f"〔失败〕 {classify_exception(exc)[2]}"

    key = gr.Textbox(label="API key (reviewer)", type="password", elem_id="rv-key")
    refresh = gr.Button("刷新队列 Refresh queue", elem_id="rv-refresh")
    queue = gr.Dataframe(
        headers=QUEUE_HEADERS, label="待审核 Flagged queue", interactive=False, elem_id="rv-queue"
    )
    pick = gr.Dropdown(choices=[], label="选择 Turn", elem_id="rv-pick", allow_custom_value=True)
    detail = gr.HTML(elem_id="rv-detail")
    note = gr.Textbox(label="备注 Note", elem_id="rv-note")
    edited = gr.Textbox(label="修改后的回答 Edited answer (for edit)", lines=4, elem_id="rv-edited")
    with gr.Row():
        approve = gr.Button("通过 Approve", variant="primary", elem_id="rv-approve")
        edit = gr.Button("修改 Edit", elem_id="rv-edit")
        reject = gr.Button("驳回 Reject", variant="stop", elem_id="rv-reject")
    status = gr.Markdown(elem_id="rv-status")
    history = gr.Dataframe(
        headers=HISTORY_HEADERS, label="历史 History", interactive=False, elem_id="rv-history"
    )

    def load(api_key: str) -> tuple[Any, Any, list, str]:
        try:
            authorize(services, api_key, "reviewer", route="ui")
            audit = services.audit()
            items = audit.pending(limit=200)
            rows = [
                [
                    i.turn_id,
                    i.created_at.isoformat(timespec="seconds"),
                    i.domain,
                    i.question,
                    ", ".join(i.rules),
                ]
                for i in items
            ]
            hist = [history_row(audit, t) for t in audit.list_turns(limit=50)]
            ids = [i.turn_id for i in items]
            return (
                rows,
                gr.Dropdown(choices=ids, value=ids[0] if ids else None),
                hist,
                f"{len(items)} pending",
            )
        except Exception as exc:  # noqa: BLE001
            return [], gr.Dropdown(choices=[], value=None), [], fail(exc)

    def reload(api_key: str) -> tuple[Any, Any, list]:
        rows, pick_update, hist, _ = load(api_key)
        return rows, pick_update, hist

    def show(api_key: str, turn_id: str | None) -> tuple[str, Any]:
        """The picked turn in detail; the edit box starts as the held answer so an edit is a small change."""
        if not turn_id:
            return "", gr.skip()
        try:
            authorize(services, api_key, "reviewer", route="ui")
            item = services.audit().review_item(turn_id)
            data = item.model_dump(mode="json") if item else services.audit().get(turn_id)
            if data is None:
                return message_html(f"turn {turn_id} not found", "error"), gr.skip()
            html = review_html(data, services.retrieved_passages(data.get("retrieved") or []))
            return html, data.get("final_answer") or ""
        except Exception as exc:  # noqa: BLE001
            return message_html(fail(exc), "error"), gr.skip()

    def decide(decision: str):
        def run(api_key: str, turn_id: str | None, note_text: str, edited_text: str) -> str:
            try:
                reviewer = authorize(services, api_key, "reviewer", route="ui")
                if not turn_id:
                    return "〔失败〕 请先选择一条 (pick a turn first)"
                if decision == "edit" and not (edited_text or "").strip():
                    return "〔失败〕 修改需要填写修改后的回答 (edit needs the edited answer)"
                edited_answer = edited_text if decision == "edit" else None
                services.audit().resolve(
                    turn_id,
                    reviewer.name,
                    decision,
                    note=note_text or "",
                    edited_answer=edited_answer,
                    reviewer_client_id=key_client_id(reviewer.key_id),
                )
                return f"〔已提交〕 {decision}: {turn_id}"
            except Exception as exc:  # noqa: BLE001
                return fail(exc)

        return run

    refresh.click(load, inputs=[key], outputs=[queue, pick, history, status], api_name=False)
    pick.change(show, inputs=[key, pick], outputs=[detail, edited], api_name=False)
    for button, decision in ((approve, "approve"), (edit, "edit"), (reject, "reject")):
        button.click(decide(decision), inputs=[key, pick, note, edited], outputs=status, api_name=False).then(
            reload, inputs=[key], outputs=[queue, pick, history], api_name=False
        )

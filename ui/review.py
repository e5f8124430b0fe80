"""Review screen (reviewer key), in Chinese for a reviewer's day.

A queue table (local time, domain, question, why it was held, state) with filters; click a row to see the
turn in detail — the answer as its asker would see it, the retrieved articles — then approve, edit (with a
preview of what will be released) or reject, with an internal note and a note for the asker. Keyboard:
Alt+A / Alt+E / Alt+R / Alt+P, Alt+J / Alt+K for the next / previous item. Below: the decision log and the
askers' 👎 feedback. Decisions go through `assistant.release` (the API and the CLI use it too).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.api.auth import authorize, key_client_id
from ui.staff import (
    ALL,
    DECISION_LABELS,
    RATING_LABELS,
    STATE_LABELS,
    domain_label,
    domain_name,
    local_time,
    preview,
    staff_error,
)
from ui.staff_view import notice_html, preview_html, review_item_html

QUEUE_HEADERS = ["编号", "提问时间", "领域", "问题", "拦截原因", "状态"]
HISTORY_HEADERS = ["编号", "审核时间", "领域", "问题", "决定", "审核人", "内部备注", "给提问者的说明"]
FEEDBACK_HEADERS = ["编号", "评价时间", "领域", "问题", "评价", "用户意见", "回答摘要"]
STATE_CHOICES = [STATE_LABELS[s] for s in ("pending", "approved", "edited", "rejected")] + [ALL]
STATE_BY_LABEL = {label: state for state, label in STATE_LABELS.items()}
SHORTCUTS = (
    "快捷键：Alt+A 通过 · Alt+E 修改后发布 · Alt+R 驳回 · Alt+P 预览修改 · Alt+J 下一条 · Alt+K 上一条"
)
# The page's time zone travels with the refresh (times are shown in the reviewer's local time).
WITH_TIME_ZONE = "(...args) => [...args.slice(0, -1), Intl.DateTimeFormat().resolvedOptions().timeZone]"
# Keyboard shortcuts: Alt+<key> clicks the button with that id while the review tab is on screen.
SHORTCUT_JS = """
if (!window.__yijuReviewKeys) {
  window.__yijuReviewKeys = true;
  const keys = {KeyA: 'rv-approve', KeyE: 'rv-edit', KeyR: 'rv-reject', KeyP: 'rv-preview',
                KeyJ: 'rv-next', KeyK: 'rv-prev'};
  document.addEventListener('keydown', (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const button = document.getElementById(keys[e.code] || '');
    if (button && button.offsetParent !== null) { e.preventDefault(); button.click(); }
  });
}
"""
SHORT_ID = 8


def _rule_label(services: Any, domain: str, rule: str) -> str:
    """The Chinese name of a rule from the turn's domain policy (any policy's label as a fallback)."""
    policies = services.pipeline().policies
    ordered = [policies[domain]] if domain in policies else []
    for policy in [*ordered, *policies.values()]:
        label = policy.rule_label(rule)
        if label != rule:
            return label
    return rule


def _labels(services: Any, domain: str, rules: list[str]) -> list[str]:
    out: list[str] = []
    for rule in rules:
        label = _rule_label(services, domain, rule)
        if label not in out:
            out.append(label)
    return out


def build_review(services: Any) -> None:
    """Add the review screen to the current Blocks."""
    gr.HTML("", js_on_load=SHORTCUT_JS, elem_id="rv-shortcuts", visible=True)
    with gr.Row():
        key = gr.Textbox(label="审核员密钥", type="password", elem_id="rv-key", scale=3)
        refresh = gr.Button("刷新队列", elem_id="rv-refresh", scale=1)
    with gr.Row():
        dom = gr.Dropdown([ALL, "法律", "医疗"], value=ALL, label="领域", elem_id="rv-filter-domain")
        rule = gr.Dropdown([ALL], value=ALL, label="拦截原因", elem_id="rv-filter-rule")
        state = gr.Dropdown(
            STATE_CHOICES, value=STATE_LABELS["pending"], label="状态", elem_id="rv-filter-state"
        )
    status = gr.Markdown(elem_id="rv-status")
    queue = gr.Dataframe(
        headers=QUEUE_HEADERS,
        label="审核队列（点击一行查看详情）",
        interactive=False,
        wrap=True,
        elem_id="rv-queue",
        column_widths=["8%", "14%", "7%", "41%", "18%", "12%"],
    )
    tz = gr.Textbox(visible=False, elem_id="rv-tz")  # the page's IANA time zone, sent with each refresh
    ids = gr.State([])  # full turn ids in the order of the queue table
    selected = gr.State("")
    with gr.Row():
        with gr.Column(scale=3):
            detail = gr.HTML(elem_id="rv-detail")
        with gr.Column(scale=2):
            with gr.Row():
                prev_btn = gr.Button("上一条", size="sm", elem_id="rv-prev")
                next_btn = gr.Button("下一条", size="sm", elem_id="rv-next")
            asker_note = gr.Textbox(
                label="给提问者的说明（驳回或修改时发送给提问者，可不填）", lines=2, elem_id="rv-asker-note"
            )
            note = gr.Textbox(label="内部备注（仅审核记录可见）", lines=1, elem_id="rv-note")
            edited = gr.Textbox(
                label="修改后的回答（【分类】【要点】【依据】；只能引用检索到的或补充的条文）",
                lines=8,
                elem_id="rv-edited",
            )
            picks = gr.Textbox(
                label="补充依据（可选，每行一条，如：劳动合同法第四十七条）", lines=2, elem_id="rv-picks"
            )
            with gr.Row():
                approve = gr.Button("通过 (Alt+A)", variant="primary", elem_id="rv-approve")
                edit = gr.Button("修改后发布 (Alt+E)", elem_id="rv-edit")
                reject = gr.Button("驳回 (Alt+R)", variant="stop", elem_id="rv-reject")
            preview_btn = gr.Button("预览修改 (Alt+P)", size="sm", elem_id="rv-preview")
            gr.Markdown(SHORTCUTS, elem_id="rv-shortcut-help")
            outcome = gr.HTML(elem_id="rv-outcome")
            preview_out = gr.HTML(elem_id="rv-preview-out")
    history = gr.Dataframe(
        headers=HISTORY_HEADERS, label="审核记录", interactive=False, wrap=True, elem_id="rv-history"
    )
    feedback = gr.Dataframe(
        headers=FEEDBACK_HEADERS,
        label="用户反馈（点了“没帮助”的回答）",
        interactive=False,
        wrap=True,
        elem_id="rv-feedback",
    )

    # ------------------------------------------------------------------ reading
    def queue_rows(audit: Any, dom_label: str, rule_label: str, state_label: str, tz_name: str):
        wanted_state = STATE_BY_LABEL.get(state_label)
        items = audit.review_queue(wanted_state, domain=domain_name(dom_label), limit=500)
        rows, full_ids = [], []
        for item in items:
            labels = _labels(services, item.domain, item.rules)
            if rule_label and rule_label != ALL and rule_label not in labels:
                continue
            rows.append(
                [
                    item.turn_id[:SHORT_ID],
                    local_time(item.created_at, tz_name),
                    domain_label(item.domain),
                    preview(item.question, 60),
                    "、".join(labels) or "—",
                    STATE_LABELS.get(item.state, item.state),
                ]
            )
            full_ids.append(item.turn_id)
        return rows, full_ids

    def rule_choices(audit: Any) -> list[str]:
        labels: list[str] = []
        for rule_id in audit.review_rules():
            label = _rule_label(services, "", rule_id)
            if label not in labels:
                labels.append(label)
        return [ALL, *labels]

    def history_rows(audit: Any, dom_label: str, tz_name: str) -> list[list[str]]:
        return [
            [
                d["turn_id"][:SHORT_ID],
                local_time(d["decided_at"], tz_name),
                domain_label(d["domain"]),
                preview(d["question"], 40),
                DECISION_LABELS.get(d["decision"], d["decision"]),
                d["reviewer"],
                d["note"] or "",
                d["asker_note"] or "",
            ]
            for d in audit.decision_log(100, domain=domain_name(dom_label))
        ]

    def feedback_rows(audit: Any, dom_label: str, tz_name: str) -> list[list[str]]:
        wanted = domain_name(dom_label)
        return [
            [
                f["turn_id"][:SHORT_ID],
                local_time(f["created_at"], tz_name),
                domain_label(f["domain"]),
                preview(f["question"], 40),
                RATING_LABELS.get(f["rating"], f["rating"]),
                f["comment"] or "",
                preview(f["final_answer"], 60),
            ]
            for f in audit.list_feedback(rating="down", limit=200)
            if wanted is None or f["domain"] == wanted
        ]

    def load(api_key: str, dom_label: str, rule_label: str, state_label: str, tz_name: str):
        try:
            authorize(services, api_key, "reviewer", route="ui")
            audit = services.audit()
            rows, full_ids = queue_rows(audit, dom_label, rule_label, state_label, tz_name)
            choices = rule_choices(audit)
            pending = audit.count("pending")
            shown = (
                f"，当前显示 {len(rows)} 条"
                if state_label != STATE_LABELS["pending"] or len(rows) != pending
                else ""
            )
            message = f"待审核 {pending} 条{shown}。" if pending or rows else "队列为空：没有待审核的回答。"
            return (
                rows,
                full_ids,
                gr.Dropdown(choices=choices, value=rule_label if rule_label in choices else ALL),
                history_rows(audit, dom_label, tz_name),
                feedback_rows(audit, dom_label, tz_name),
                message,
                tz_name,
            )
        except Exception as exc:  # noqa: BLE001 - shown on screen in Chinese
            return [], [], gr.skip(), [], [], staff_error(exc, "reviewer"), tz_name

    def show(api_key: str, turn_id: str, tz_name: str) -> tuple[str, Any, str]:
        """The turn in detail; the edit box starts as the held answer (bare references) for a small edit."""
        from assistant.release import compact_answer, turn_passages

        if not turn_id:
            return "", "", ""
        try:
            authorize(services, api_key, "reviewer", route="ui")
            pipeline = services.pipeline()
            item = pipeline.audit.get(turn_id)
            if item is None:
                return notice_html(f"没有找到编号为 {turn_id[:SHORT_ID]} 的问题。"), gr.skip(), ""
            shown, heading, why = describe_answer(pipeline, item)
            kept = {p.id: p for p in turn_passages(pipeline.kb, item)}
            passages = [
                (str(r.get("id", "")), kept.get(str(r.get("id", "")))) for r in item.get("retrieved") or []
            ]
            html = review_item_html(
                item,
                rule_labels=_labels(services, item["domain"], item.get("rules") or []),
                shown=shown,
                shown_heading=heading,
                shown_error=why,
                passages=passages,
                tz=tz_name,
            )
            return html, compact_answer(item.get("final_answer") or ""), ""
        except Exception as exc:  # noqa: BLE001
            return notice_html(staff_error(exc, "reviewer")), gr.skip(), ""

    def describe_answer(pipeline: Any, item: dict) -> tuple[Any, str, str]:
        """(answer to show, its heading, why there is none) for a turn in any state."""
        from assistant.release import ReleaseError, prepare_release

        state = item.get("review_state")
        if state in ("approved", "edited") and item.get("released"):
            return item["released"], "已发布给用户的回答", ""
        if state == "rejected":
            note = item.get("asker_note") or ""
            return None, "已驳回，未发布", "已驳回。" + (f"给提问者的说明：{note}" if note else "")
        heading = "用户将看到的回答（通过后）" if state == "pending" else "用户看到的回答"
        if item.get("status") in ("refused", "error", "no_basis") and state is None:
            return None, heading, ""
        try:
            return prepare_release(pipeline, item, "approve"), heading, ""
        except ReleaseError as exc:
            return None, heading, str(exc)

    def pick_row(full_ids: list[str], evt: gr.SelectData) -> str:
        """The turn id of the clicked row (its 编号 cell matched against the loaded ids)."""
        short = str((evt.row_value or [""])[0]) if evt.row_value else ""
        if not short and evt.index is not None:
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            return full_ids[row] if 0 <= row < len(full_ids) else ""
        return next((t for t in full_ids if t.startswith(short)), "") if short else ""

    def pick_logged(api_key: str, evt: gr.SelectData) -> str:
        """A turn picked in the decision log or the feedback table (any turn, by its 编号)."""
        short = str((evt.row_value or [""])[0]) if evt.row_value else ""
        if not short:
            return ""
        try:
            authorize(services, api_key, "reviewer", route="ui")
            found = services.audit().find_ids(short, limit=2)
        except Exception:  # noqa: BLE001 - the detail pane shows the key error on the next step
            return ""
        return found[0] if len(found) == 1 else ""

    def step(delta: int):
        def move(full_ids: list[str], current: str) -> str:
            if not full_ids:
                return ""
            if current not in full_ids:
                return full_ids[0]
            return full_ids[max(0, min(len(full_ids) - 1, full_ids.index(current) + delta))]

        return move

    # ------------------------------------------------------------------ deciding
    def split_picks(text: str) -> list[str]:
        return [line.strip() for line in (text or "").replace("；", "\n").splitlines() if line.strip()]

    def run_preview(api_key: str, turn_id: str, edited_text: str, picks_text: str) -> str:
        from assistant.release import prepare_release

        try:
            authorize(services, api_key, "reviewer", route="ui")
            if not turn_id:
                return notice_html("请先在队列中点击一条。")
            pipeline = services.pipeline()
            item = pipeline.audit.get(turn_id)
            if item is None:
                return notice_html("该条不在审核队列中。")
            released = prepare_release(
                pipeline, item, "edit", edited_answer=edited_text, picks=split_picks(picks_text)
            )
            return preview_html(released)
        except Exception as exc:  # noqa: BLE001
            return notice_html(staff_error(exc, "reviewer"))

    def decide(decision: str):
        def run(
            api_key: str, turn_id: str, note_text: str, asker_text: str, edited_text: str, picks_text: str
        ) -> tuple[Any, ...]:
            from assistant.release import release_decision

            keep = (gr.skip(), gr.skip(), gr.skip())
            try:
                reviewer = authorize(services, api_key, "reviewer", route="ui")
                if not turn_id:
                    return notice_html("请先在队列中点击一条。"), turn_id, *keep
                released = release_decision(
                    services.pipeline(),
                    turn_id,
                    reviewer.name,
                    decision,  # type: ignore[arg-type]
                    note=note_text or "",
                    asker_note=asker_text or "",
                    edited_answer=edited_text if decision == "edit" else None,
                    picks=split_picks(picks_text) if decision == "edit" else [],
                    reviewer_client_id=key_client_id(reviewer.key_id),  # four eyes: not one's own question
                )
            except Exception as exc:  # noqa: BLE001
                return notice_html(staff_error(exc, "reviewer")), turn_id, *keep
            done = notice_html(f"〔已提交〕{DECISION_LABELS[decision]}：编号 {turn_id[:SHORT_ID]}", "done")
            # The item leaves the selection (the next one is picked after the queue reloads); notes are cleared.
            shown = preview_html(released, "已发布，用户看到：") if released is not None else ""
            return done + shown, "", "", "", ""

        return run

    def next_pending(full_ids: list[str], current: str) -> str:
        """After a decision: the same item if it failed, else the first of the refreshed queue."""
        return current or (full_ids[0] if full_ids else "")

    filters = [key, dom, rule, state, tz]
    load_outputs = [queue, ids, rule, history, feedback, status, tz]
    refresh.click(load, inputs=filters, outputs=load_outputs, js=WITH_TIME_ZONE, api_visibility="private")
    key.submit(load, inputs=filters, outputs=load_outputs, js=WITH_TIME_ZONE, api_visibility="private")
    for box in (dom, rule, state):
        box.input(load, inputs=filters, outputs=load_outputs, js=WITH_TIME_ZONE, api_visibility="private")
    queue.select(pick_row, inputs=[ids], outputs=selected, api_visibility="private")
    history.select(pick_logged, inputs=[key], outputs=selected, api_visibility="private")
    feedback.select(pick_logged, inputs=[key], outputs=selected, api_visibility="private")
    selected.change(
        show, inputs=[key, selected, tz], outputs=[detail, edited, preview_out], api_visibility="private"
    )
    prev_btn.click(step(-1), inputs=[ids, selected], outputs=selected, api_visibility="private")
    next_btn.click(step(+1), inputs=[ids, selected], outputs=selected, api_visibility="private")
    preview_btn.click(
        run_preview, inputs=[key, selected, edited, picks], outputs=preview_out, api_visibility="private"
    )
    for button, decision in ((approve, "approve"), (edit, "edit"), (reject, "reject")):
        button.click(
            decide(decision),
            inputs=[key, selected, note, asker_note, edited, picks],
            outputs=[outcome, selected, note, asker_note, picks],
            api_visibility="private",
        ).then(load, inputs=filters, outputs=load_outputs, api_visibility="private").then(
            next_pending, inputs=[ids, selected], outputs=selected, api_visibility="private"
        )

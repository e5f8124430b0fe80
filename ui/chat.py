"""Chat screen: a conversation (gr.Chatbot) with follow-ups, domain switch, feedback and review look-up.

Presentation and event wiring only: the pipeline resolves follow-ups (assistant.conversation), routes,
answers and audits; this screen keeps the session's conversation (id + earlier turns) and shows results.
Answers stream as today: the pieces are released only after verification (Pipeline.ask_stream).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.api.errors import classify_exception
from assistant.conversation import PriorTurn, new_conversation_id
from ui.render import (
    DOMAIN_LABELS,
    answer_messages,
    domain_label,
    message_html,
    streaming_markdown,
    turn_result_html,
)

DOMAIN_CHOICES = ["自动", "法律", "医疗"]
EXAMPLES = [
    "公司拖欠工资，劳动者可以解除劳动合同吗？",
    "被狗咬了要打狂犬疫苗吗？",
    "高血压可以停药吗？",
    "医疗机构发现传染病疫情应当如何报告？",
]
NOTICE = (
    "本助手根据知识库中的法律法规和诊疗规范条文作答，每条依据均可展开查看原文；可以接着追问。"
    "回答仅供参考，不构成法律意见或医疗诊断。急症请拨打 120，卫生健康咨询 12320，公共法律服务 12348。"
)
PLACEHOLDER = "请输入您的问题（Enter 发送，Shift+Enter 换行）"
# Runs in the browser when a question is sent: empties the box at once (the inputs were already read), so
# the next question can be typed while the answer is on its way. The `input` event keeps Gradio's value in
# step with the box.
TAKE_QUESTION_JS = """
(...args) => {
  const box = document.querySelector("#chat-question textarea");
  if (box) { box.value = ""; box.dispatchEvent(new Event("input", {bubbles: true})); }
  return args;
}
"""
CHAT_CSS = """
#chat-history .message-content p { margin: 0.3em 0; }
#chat-route-row { align-items: center; }
"""


def _empty_state() -> dict[str, Any]:
    # The conversation id is made on the first question, so every browser session gets its own.
    return {"id": "", "turns": [], "message_turn": {}, "last": None}


def build_chat(services: Any) -> None:
    """Add the chat screen to the current Blocks (inside a Tab)."""
    gr.Markdown(f"### 依据 · 问答\n{NOTICE}", elem_id="chat-notice")
    state = gr.State(_empty_state())
    with gr.Row():
        domain = gr.Radio(DOMAIN_CHOICES, value="自动", label="领域", elem_id="chat-domain", scale=4)
        new_chat = gr.Button("新对话", elem_id="chat-new", scale=1)
    chatbot = gr.Chatbot(
        elem_id="chat-history",
        label="对话",
        height=560,
        buttons=["copy", "copy_all"],
        feedback_options=("Like", "Dislike"),
        placeholder="您好！请描述您的法律或健康问题，也可以点击下面的示例。",
        examples=[{"text": q} for q in EXAMPLES],
        line_breaks=True,
    )
    with gr.Row(visible=False, elem_id="chat-route-row") as route_row:
        route_text = gr.Markdown(elem_id="chat-route-note")
        switch = gr.Button("改按其他领域回答", elem_id="chat-switch-domain", size="sm")
    with gr.Row():
        question = gr.Textbox(
            show_label=False,
            lines=1,
            max_lines=6,
            placeholder=PLACEHOLDER,
            elem_id="chat-question",
            max_length=4000,
            scale=8,
        )
        ask = gr.Button("发送", variant="primary", elem_id="chat-ask", scale=1)
    conversation_note = gr.Markdown(elem_id="chat-conversation")
    with gr.Row(visible=False, elem_id="chat-feedback-row") as feedback_row:
        comment = gr.Textbox(
            label="哪里不满意？（可选，会交给审核人员）",
            elem_id="chat-feedback-comment",
            max_length=2000,
            scale=8,
        )
        send_comment = gr.Button("提交意见", elem_id="chat-feedback-send", scale=1)
    feedback_turn = gr.State("")
    feedback_status = gr.Markdown(elem_id="chat-feedback-status")
    # A held answer is released later: the asker keeps the turn id and checks back here
    # (the same logic as GET /v1/ask/{turn_id}).
    with gr.Accordion("查看审核结果", open=False, elem_id="chat-review-box"):
        with gr.Row():
            turn_box = gr.Textbox(
                label="问题编号（提交审核的回答会显示编号）",
                elem_id="chat-turn-id",
                max_length=64,
            )
            check = gr.Button("查看审核结果", elem_id="chat-check-review")
        review_result = gr.HTML(value="", elem_id="chat-review-result")

    def titles() -> dict[str, str]:
        pipeline = services.pipeline()
        return {name: pipeline.domain_spec(name).title for name in pipeline.domains}

    def client(request: gr.Request | None) -> str:
        return getattr(getattr(request, "client", None), "host", None) or "ui"

    outputs = [question, chatbot, state, route_row, route_text, switch, turn_box, conversation_note]

    def run_turn(
        text: str, label: str, messages: list, conv: dict, request: gr.Request | None
    ) -> Iterator[tuple]:
        """Ask `text` in the conversation and stream the answer into the chat."""
        text = (text or "").strip()
        messages = list(messages or [])
        conv = {**_empty_state(), **(conv or {})}
        if not text:
            return
        conv["id"] = conv["id"] or new_conversation_id()
        note = f"对话编号 {conv['id']}"
        hidden = gr.update(visible=False)
        messages.append({"role": "user", "content": text})
        first = len(messages)

        # The browser emptied the question box on sending and answers never touch it (the next question may
        # be typed meanwhile); a question refused before it was asked goes back into the box to be edited.
        def notice(message: str, give_back: bool = False) -> tuple:
            return (text if give_back else gr.skip(),
                    [*messages, {"role": "assistant", "content": f"〔提示〕 {message}"}], conv,
                    hidden, gr.skip(), gr.skip(), gr.skip(), note)  # fmt: skip

        limit = services.config.server.max_question_chars
        if len(text) > limit:
            yield notice(f"问题过长（{len(text)} 字，上限 {limit} 字），请精简后再问。", give_back=True)
            return
        ip = client(request)
        if services.public_limiter.check(f"ui:{ip}") is not None:
            services.metrics.count("rate_limited", route="ui")
            yield notice("请求过于频繁，请稍后再试。", give_back=True)
            return
        yield (
            gr.skip(),
            [*messages, {"role": "assistant", "content": "正在查找依据…"}],
            conv,
            hidden,
            *[gr.skip()] * 3,
            note,
        )
        history = [PriorTurn.model_validate(t) for t in conv["turns"]]
        try:
            pipeline = services.pipeline()
            streamed = ""
            for event in pipeline.ask_stream(
                text,
                domain=services.resolve_domain(label),
                client_id=f"ui:{ip}",
                conversation_id=conv["id"],
                history=history,
            ):
                if event.get("type") == "token":
                    streamed += event.get("text", "")
                    partial = {"role": "assistant", "content": streaming_markdown(streamed)}
                    yield gr.skip(), [*messages, partial], conv, *[gr.skip()] * 4, note
                elif event.get("type") == "final":
                    result = event["result"]
                    services.metrics.observe_answer(result.domain, result.status, result.flags, channel="ui")
                    yield _finish(result, text, messages, first, conv, note)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
            yield notice(classify_exception(exc)[2])

    def _finish(result: Any, text: str, messages: list, first: int, conv: dict, note: str) -> tuple:
        answer = answer_messages(result, titles())
        conv["turns"] = [
            *conv["turns"],
            PriorTurn(
                question=text,
                standalone=result.standalone_question,
                domain=result.domain,
                turn_id=result.turn_id,
            ).model_dump(),
        ]
        conv["message_turn"] = {
            **conv["message_turn"],
            **{str(i): result.turn_id for i in range(first, first + len(answer))},
        }
        routing = result.routing
        others = [d for d in (routing.alternatives if routing else []) if d != result.domain]
        unsure = bool(routing and routing.unsure and others and result.status != "error")
        conv["last"] = {"question": text, "domain": result.domain, "other": others[0] if others else None}
        switch_update = (
            gr.update(value=f"改按{domain_label(others[0], titles())}问题回答") if unsure else gr.skip()
        )
        route_update = (
            f"已按**{domain_label(result.domain, titles())}**问题回答，系统不太确定。如果问的是别的领域，请点击："
            if unsure
            else gr.skip()
        )
        held = result.turn_id if result.status == "under_review" else gr.skip()
        return (
            gr.skip(),
            [*messages, *answer],
            conv,
            gr.update(visible=unsure),
            route_update,
            switch_update,
            held,
            note,
        )

    def switch_domain(messages: list, conv: dict, request: gr.Request | None) -> Iterator[tuple]:
        """Ask the last question again in the other domain (one click when the router was unsure)."""
        conv = {**_empty_state(), **(conv or {})}
        last = conv.get("last") or {}
        other = last.get("other")
        if not other or not conv["turns"]:
            return
        # Drop the last turn from the screen and the conversation, then ask it in the chosen domain.
        messages = list(messages or [])
        while messages and messages[-1].get("role") != "user":
            messages.pop()
        if messages:
            messages.pop()
        conv["turns"] = conv["turns"][:-1]
        label = next((lbl for lbl, name in _LABEL_TO_NAME.items() if name == other), other)
        yield from run_turn(last["question"], label, messages, conv, request)

    def start_over() -> tuple:
        hidden = gr.update(visible=False)
        return [], _empty_state(), hidden, "", hidden, "", "", "", ""

    def on_like(conv: dict, data: gr.LikeData, request: gr.Request | None) -> tuple:
        """👍/👎 on an answer: stored in the audit trail at once; a 👎 opens the comment box."""
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        turn_id = (conv or {}).get("message_turn", {}).get(str(index))
        if not turn_id or data.liked not in (True, False):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        rating = "up" if data.liked else "down"
        try:
            services.audit().add_feedback(turn_id, rating, client_id=f"ui:{client(request)}")
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
            return gr.skip(), gr.skip(), f"反馈未能保存：{classify_exception(exc)[2]}", gr.skip()
        if rating == "up":
            return gr.update(visible=False), "", "谢谢您的反馈！", ""
        return gr.update(visible=True), turn_id, "谢谢反馈。可以告诉我们哪里不满意（可选）：", ""

    def on_comment(turn_id: str, text: str, request: gr.Request | None) -> tuple:
        text = (text or "").strip()
        if not turn_id or not text:
            return gr.skip(), "请先填写意见。", gr.skip()
        try:
            services.audit().add_feedback(turn_id, "down", text, client_id=f"ui:{client(request)}")
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
            return gr.skip(), f"意见未能保存：{classify_exception(exc)[2]}", gr.skip()
        return gr.update(visible=False), "意见已提交，审核人员会看到。谢谢！", ""

    def check_result(turn_id: str, request: gr.Request) -> str:
        """The reviewed answer of a held turn, if a reviewer has decided (never the held text before)."""
        from assistant.api.turn_result import turn_result

        turn_id = (turn_id or "").strip()
        if not turn_id:
            return message_html("请输入问题编号。", "error")
        if services.public_limiter.check(f"ui:{client(request)}") is not None:
            services.metrics.count("rate_limited", route="ui")
            return message_html("请求过于频繁，请稍后再试。", "rate-limited")
        try:
            found = turn_result(services.audit(), turn_id)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
            return message_html(classify_exception(exc)[2], "error")
        if found is None:
            return message_html(f"没有找到编号为 {turn_id} 的问题。", "not-found")
        return turn_result_html(found)

    def ask_example(messages: list, conv: dict, label: str, data: gr.SelectData, request: gr.Request | None):
        value = data.value.get("text", "") if isinstance(data.value, dict) else str(data.value or "")
        yield from run_turn(value, label, messages, conv, request)

    def api_ask(question: str, domain: str = "自动", request: gr.Request | None = None) -> tuple[str, str]:
        """One question, no conversation (the Gradio API's /ask): (the answer as the chat shows it, the
        turn id). Rate-limited and audited like the chat."""
        text = (question or "").strip()
        if services.public_limiter.check(f"ui:{client(request)}") is not None:
            services.metrics.count("rate_limited", route="ui")
            return "〔提示〕 请求过于频繁，请稍后再试。(rate limited)", ""
        try:
            result = services.pipeline().ask(
                text, domain=services.resolve_domain(domain), client_id=f"ui:{client(request)}"
            )
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
            return f"〔提示〕 {classify_exception(exc)[2]}", ""
        services.metrics.observe_answer(result.domain, result.status, result.flags, channel="ui")
        return "\n\n".join(m["content"] for m in answer_messages(result, titles())), result.turn_id or ""

    gr.api(api_ask, api_name="ask")
    inputs = [question, domain, chatbot, state]
    # The question box is emptied in the browser the moment a question is sent (TAKE_QUESTION_JS), never by
    # the answer's updates: what the user types while an answer is on its way stays, and an Enter pressed
    # then is asked right after it (always_last; Gradio's default, "once", dropped it silently).
    for trigger in (ask.click, question.submit):
        trigger(
            run_turn,
            inputs=inputs,
            outputs=outputs,
            js=TAKE_QUESTION_JS,
            api_visibility="private",
            trigger_mode="always_last",
        )
    chatbot.example_select(
        ask_example, inputs=[chatbot, state, domain], outputs=outputs, api_visibility="private"
    )
    switch.click(switch_domain, inputs=[chatbot, state], outputs=outputs, api_visibility="private")
    new_chat.click(
        start_over,
        outputs=[chatbot, state, route_row, route_text, feedback_row, feedback_turn, comment, conversation_note,
                 feedback_status],
        api_visibility="private",
    )  # fmt: skip
    chatbot.like(
        on_like,
        inputs=[state],
        outputs=[feedback_row, feedback_turn, feedback_status, comment],
        api_visibility="private",
    )
    send_comment.click(
        on_comment,
        inputs=[feedback_turn, comment],
        outputs=[feedback_row, feedback_status, comment],
        api_visibility="private",
    )
    check.click(check_result, inputs=[turn_box], outputs=review_result, api_name="ask_result")


_LABEL_TO_NAME = {label: name for name, label in DOMAIN_LABELS.items()}

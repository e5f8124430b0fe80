"""Chat screen: domain switch, streaming answer, expandable citations, review-hold state, examples."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.api.errors import classify_exception
from ui.render import answer_html, message_html, streaming_html, turn_result_html

DOMAIN_CHOICES = ["自动", "法律", "医疗"]
EXAMPLES = [
    ["公司拖欠工资，劳动者可以解除劳动合同吗？", "法律"],
    ["劳动合同法第四十七条规定了什么？", "法律"],
    ["医疗机构发现传染病疫情应当如何报告？", "医疗"],
    ["疫苗接种后出现异常反应怎么办？", "自动"],
]
NOTICE = (
    "本助手根据知识库中的法律法规和诊疗规范条文作答，每条依据均可展开查看原文。"
    "回答仅供参考，不构成法律意见或医疗诊断。"
)


def build_chat(services: Any) -> None:
    """Add the chat screen to the current Blocks (inside a Tab)."""
    gr.Markdown(f"### 依据 · 问答\n{NOTICE}", elem_id="chat-notice")
    with gr.Row():
        domain = gr.Radio(DOMAIN_CHOICES, value="自动", label="领域 Domain", elem_id="chat-domain")
    question = gr.Textbox(
        label="问题 Question",
        lines=3,
        placeholder="请输入您的问题…",
        elem_id="chat-question",
        max_length=4000,
    )
    ask = gr.Button("提问 Ask", variant="primary", elem_id="chat-ask")
    answer = gr.HTML(value="", elem_id="chat-answer")
    # A held answer is released later: the asker keeps the turn id and checks back here
    # (the same logic as GET /v1/ask/{turn_id}).
    with gr.Row():
        turn_box = gr.Textbox(
            label="问题编号 Turn id（审核中的回答）",
            placeholder="提交审核的回答会显示编号",
            elem_id="chat-turn-id",
            max_length=64,
        )
        check = gr.Button("查看审核结果 Check review result", elem_id="chat-check-review")
    review_result = gr.HTML(value="", elem_id="chat-review-result")
    gr.Examples(
        examples=EXAMPLES, inputs=[question, domain], label="示例问题 Examples", elem_id="chat-examples"
    )

    def run(text: str, label: str, request: gr.Request) -> Iterator[tuple[str, Any]]:
        """Stream the answer; a held turn also fills the turn-id box for "查看审核结果"."""
        for html, turn_id in _answer(text, label, request):
            yield html, (turn_id if turn_id is not None else gr.skip())

    def _answer(text: str, label: str, request: gr.Request) -> Iterator[tuple[str, str | None]]:
        ip = getattr(getattr(request, "client", None), "host", None) or "ui"
        text = (text or "").strip()
        if not text:
            yield message_html("请输入问题。", "error"), None
            return
        limit = services.config.server.max_question_chars
        if len(text) > limit:
            yield message_html(f"问题过长（{len(text)} 字，上限 {limit} 字）。", "error"), None
            return
        if services.public_limiter.check(f"ui:{ip}") is not None:
            services.metrics.count("rate_limited", route="ui")
            yield message_html("请求过于频繁，请稍后再试。(rate limited)", "rate-limited"), None
            return
        try:
            pipeline = services.pipeline()
            domain_name = services.resolve_domain(label)
            streamed = ""
            for event in pipeline.ask_stream(text, domain=domain_name, client_id=f"ui:{ip}"):
                if event.get("type") == "token":
                    streamed += event.get("text", "")
                    yield streaming_html(streamed), None
                elif event.get("type") == "final":
                    result = event["result"]
                    services.metrics.observe_answer(result.domain, result.status, result.flags, channel="ui")
                    yield answer_html(result), (result.turn_id if result.status == "under_review" else None)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
            _status, _kind, message = classify_exception(exc)
            yield message_html(message, "error"), None

    def check_result(turn_id: str, request: gr.Request) -> str:
        """The reviewed answer of a held turn, if a reviewer has decided (never the held text before)."""
        from assistant.api.turn_result import turn_result

        turn_id = (turn_id or "").strip()
        if not turn_id:
            return message_html("请输入问题编号。(enter the turn id)", "error")
        ip = getattr(getattr(request, "client", None), "host", None) or "ui"
        if services.public_limiter.check(f"ui:{ip}") is not None:
            services.metrics.count("rate_limited", route="ui")
            return message_html("请求过于频繁，请稍后再试。(rate limited)", "rate-limited")
        try:
            found = turn_result(services.audit(), turn_id)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
            return message_html(classify_exception(exc)[2], "error")
        if found is None:
            return message_html(f"没有找到编号为 {turn_id} 的问题。(turn not found)", "not-found")
        return turn_result_html(found)

    ask.click(run, inputs=[question, domain], outputs=[answer, turn_box], api_name="ask")
    question.submit(run, inputs=[question, domain], outputs=[answer, turn_box], api_name=False)
    check.click(check_result, inputs=[turn_box], outputs=review_result, api_name="ask_result")

"""Question answering: /v1/ask, /v1/ask/stream (SSE), and the OpenAI-compatible /v1/chat/completions."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.api.auth import Principal, public
from assistant.api.errors import classify_exception, error_body
from assistant.api.schemas import (
    AskRequest,
    ChatCompletionRequest,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
)
from assistant.api.services import Services
from assistant.api.turn_result import TurnResult, turn_result
from assistant.conversation import PriorTurn, new_conversation_id
from assistant.pipeline import AskResult, clean_question, has_lone_surrogate
from safety.audit import ReviewNotFound

log = logging.getLogger("yiju.serve")
# FastAPI dependency markers, built once (module-level, as ruff B008 asks).
AS_PUBLIC = Depends(public)
router = APIRouter(prefix="/v1", tags=["ask"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 429, 503)
}


def _services(request: Request) -> Services:
    return request.app.state.services


# Pipeline flags for questions it will not answer as asked; the turn is audited, the client gets a 422.
INPUT_FLAGS = ("invalid_text", "empty_question", "question_too_long")


def _input_rejected(services: Services, text: str) -> bool:
    """Whether the pipeline will refuse `text` as malformed, blank or too long (its own checks and limit)."""
    cleaned = clean_question(text)
    return has_lone_surrogate(text) or not cleaned or len(cleaned) > services.config.server.max_question_chars


def _rejection(services: Services, question: str, result: AskResult) -> JSONResponse | None:
    """A 422 error naming the reason and the audited turn, for a malformed, blank or too-long question."""
    reason = next((f for f in result.flags if f in INPUT_FLAGS), None)
    if result.status != "error" or reason is None:
        return None
    if reason == "invalid_text":
        message = "question is not valid text (it holds a lone UTF-16 surrogate such as \\ud800)"
    elif reason == "empty_question":
        message = "question is empty"
    else:
        limit = services.config.server.max_question_chars
        message = f"question is {len(clean_question(question))} characters, over the {limit}-character limit"
    error = {
        "type": "invalid_request",
        "code": 422,
        "message": f"{message} (turn {result.turn_id} audited)",
        "reason": reason,
        "turn_id": result.turn_id,
    }
    return JSONResponse({"error": error}, status_code=422)


def _stream_or_rejection(
    services: Services,
    question: str,
    domain: str,
    client_id: str | None,
    channel: str = "api",
    *,
    conversation_id: str | None = None,
    history: list[PriorTurn] | None = None,
) -> Iterator[dict] | JSONResponse:
    """The started answer stream, or the 422 for a question the pipeline rejects (audited either way).

    Rejected input is answered through `ask` so the status code can still be an HTTP error
    rather than an in-band event after a 200.
    """
    pipeline = services.pipeline()
    conv: dict[str, Any] = {"conversation_id": conversation_id, "history": history}
    if _input_rejected(services, question):
        result = pipeline.ask(question, domain=domain, client_id=client_id, **conv)
        rejection = _rejection(services, question, result)
        if rejection is not None:
            services.metrics.observe_answer(result.domain, result.status, result.flags, channel=channel)
            return rejection
        return iter([{"type": "final", "result": result}])
    return _started(pipeline.ask_stream(question, domain=domain, client_id=client_id, **conv))


def _domain(services: Services, value: str) -> str:
    try:
        return services.resolve_domain(value)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def visible_text(result: AskResult) -> str:
    """What a user is shown for a result: the rendered answer, or the refusal / hold / error message."""
    return result.rendered or result.message


def yiju_extra(result: AskResult) -> dict[str, Any]:
    """The structured side of an answer, attached to OpenAI-style responses as `yiju`."""
    return {
        "turn_id": result.turn_id,
        "conversation_id": result.conversation_id,
        "standalone_question": result.standalone_question,
        "routing": result.routing.model_dump(mode="json") if result.routing else None,
        "status": result.status,
        "domain": result.domain,
        "category": result.category,
        "points": result.points,
        "citations": [c.model_dump(mode="json") for c in result.citations],
        "disclaimer": result.disclaimer,
        "flags": result.flags,
        "message": result.message,
        "generator": result.generator,
        "adapter": result.adapter,
    }


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _error_payload(exc: Exception) -> dict[str, Any]:
    status, _kind, message = classify_exception(exc)
    return error_body(status, message)


@router.post("/ask", response_model=AskResult, responses=ERRORS, summary="Ask a question; structured answer")
def ask(body: AskRequest, request: Request, who: Principal = AS_PUBLIC) -> Any:
    """Answer with category, points, verified citations (verbatim text), disclaimer, flags and review status.

    Send the returned `conversation_id` with the next question to ask a follow-up; `standalone_question`
    says how it was understood. A blank or too-long question is still audited; the answer is then a 422
    carrying its `turn_id`."""
    services = _services(request)
    domain = _domain(services, body.domain)
    result = services.pipeline().ask(
        body.question,
        domain=domain,
        client_id=who.client_id,
        conversation_id=body.conversation_id or new_conversation_id(),
    )
    services.metrics.observe_answer(result.domain, result.status, result.flags)
    return _rejection(services, body.question, result) or result


@router.get(
    "/ask/{turn_id}",
    response_model=TurnResult,
    responses=ERRORS,
    summary="A turn's outcome for its asker: the reviewed answer once a held turn is decided",
)
def ask_result(turn_id: str, request: Request, who: Principal = AS_PUBLIC) -> TurnResult:
    """Poll a held (`under_review`) turn: `answer` stays null until a reviewer approves (the held answer)
    or edits it (their text); a rejection gives a message and no answer. The turn id is a random
    128-bit value, so knowing it is what entitles the asker; the route is rate-limited like /v1/ask."""
    found = turn_result(_services(request).audit(), turn_id)
    if found is None:
        raise HTTPException(404, f"turn {turn_id!r} not found")
    return found


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    responses=ERRORS,
    summary="👍/👎 on an answer, with an optional comment (stored in the audit trail for reviewers)",
)
def feedback(body: FeedbackRequest, request: Request, who: Principal = AS_PUBLIC) -> FeedbackResponse:
    """Like the answer fetch, knowing the (random) turn id is what entitles the asker; rate-limited like
    /v1/ask. Sending again records the new rating: reviewers see each turn's latest
    (`GET /v1/audit/feedback`)."""
    audit = _services(request).audit()
    try:
        fid = audit.add_feedback(body.turn_id, body.rating, body.comment, client_id=who.client_id)
    except ReviewNotFound:
        raise HTTPException(404, f"turn {body.turn_id!r} not found") from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return FeedbackResponse(id=fid, turn_id=body.turn_id, rating=body.rating)


@router.post(
    "/ask/stream",
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
    summary="Ask a question; server-sent events",
)
def ask_stream(body: AskRequest, request: Request, who: Principal = AS_PUBLIC) -> Any:
    """SSE: `event: token` (`{"text"}`) events, then one `event: final` with the full structured answer
    (clients should show `final.rendered`), or one `event: error`."""
    services = _services(request)
    domain = _domain(services, body.domain)
    stream = _stream_or_rejection(
        services,
        body.question,
        domain,
        who.client_id,
        conversation_id=body.conversation_id or new_conversation_id(),
    )
    if isinstance(stream, JSONResponse):
        return stream

    def events() -> Iterator[str]:
        # A sync generator: Starlette iterates it in the threadpool, so the CPU-bound pipeline
        # never blocks the event loop.
        try:
            for event in stream:
                if event.get("type") == "token":
                    yield _sse("token", {"text": event.get("text", "")})
                elif event.get("type") == "final":
                    result: AskResult = event["result"]
                    services.metrics.observe_answer(result.domain, result.status, result.flags)
                    yield _sse("final", result.model_dump(mode="json"))
        except Exception as exc:  # the response has started: report in-band, never a traceback
            log.exception("ask/stream failed")
            yield _sse("error", _error_payload(exc))

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _started(events: Iterator[dict]) -> Iterator[dict]:
    """Run the stream up to its first event now, so failures before any output (store down → 503)
    become a proper HTTP status instead of an in-band error after a 200."""
    try:
        first = next(events)
    except StopIteration:
        return iter(())
    return itertools.chain([first], events)


def _model_to_domain(services: Services, model: str) -> tuple[str, str | None]:
    """(domain, requested adapter name or None) for an OpenAI `model`: auto, a domain, or an adapter name."""
    name = (model or "auto").strip()
    if name in ("auto", "yiju", ""):
        return "auto", None
    try:
        return services.resolve_domain(name), None
    except ValueError:
        pass
    adapters = services.adapters()
    for manifest in adapters:
        if getattr(manifest, "name", None) == name:
            adapter_domain = getattr(manifest, "domain", "") or "auto"
            try:
                return services.resolve_domain(adapter_domain), name
            except ValueError:
                raise HTTPException(
                    400,
                    f"adapter {name!r} is for domain {adapter_domain!r}, which this server does not serve; "
                    f"served domains: {', '.join(services.domains())}",
                ) from None
    valid = ["auto", *services.domains(), *[getattr(m, "name", "") for m in adapters]]
    raise HTTPException(404, f"model {name!r} not found; use one of: {', '.join(v for v in valid if v)}")


def _adapter_notice(adapter: str | None, result: AskResult) -> str | None:
    """Why a requested adapter did not produce the answer (None when it did or none was requested).

    The pipeline uses the adapter its domain is configured with; a registered adapter the generator does
    not load (the extractive default loads none) must not look as if it had answered.
    """
    if adapter is None or result.adapter == adapter:
        return None
    generator = result.generator or "the configured generator"
    if result.adapter:
        return (
            f"adapter {adapter} is registered but not loaded by the {generator} generator; "
            f"answered by {generator} with adapter {result.adapter}"
        )
    return f"adapter {adapter} is registered but not loaded by the {generator} generator; answered by {generator}"


def _last_user_message(body: ChatCompletionRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            return message.text()
    raise HTTPException(422, "messages must contain at least one message with role 'user'")


def _chat_conversation(
    services: Services, body: ChatCompletionRequest, domain: str, client_id: str | None
) -> tuple[str, list[PriorTurn]]:
    """(conversation id, earlier turns) of an OpenAI-style request: every user message before the last is
    replayed through the same deterministic resolution the pipeline uses, so the last one is understood in
    its conversation (「那可以要求经济补偿吗？」 after a labour question)."""
    user_turns = [i for i, m in enumerate(body.messages) if m.role == "user"]
    earlier = [body.messages[i].text() for i in user_turns[:-1]]
    history = services.pipeline().replay_history(earlier, domain)
    conversation_id = body.conversation_id
    if not conversation_id:
        first = body.messages[user_turns[0]].text() if user_turns else ""
        digest = hashlib.sha256(f"{client_id or ''}\x00{first}".encode("utf-8", "surrogatepass")).hexdigest()[
            :24
        ]
        conversation_id = f"oa-{digest}"
    return conversation_id, history


@router.get("/models", summary="OpenAI-compatible model list: auto, the domains and the adapters")
def models(request: Request) -> dict[str, Any]:
    """Each domain and adapter name can be passed as `model` to /v1/chat/completions."""
    services = _services(request)
    now = int(time.time())
    names = ["auto", *services.domains(), *[m.name for m in services.adapters()]]
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "created": now, "owned_by": "yiju"} for n in names],
    }


@router.post("/chat/completions", responses=ERRORS, summary="OpenAI-compatible chat completions")
def chat_completions(body: ChatCompletionRequest, request: Request, who: Principal = AS_PUBLIC) -> Any:
    """The last user message is the question, understood in the conversation of all earlier user messages
    (a follow-up is rewritten into a standalone question: `yiju.standalone_question`). The structured answer,
    citations included, is in the extra `yiju` field (non-stream) or in the last chunk (stream)."""
    services = _services(request)
    domain, adapter = _model_to_domain(services, body.model)
    question = _last_user_message(body)
    pipeline = services.pipeline()
    conversation_id, history = _chat_conversation(services, body, domain, who.client_id)
    conv: dict[str, Any] = {"conversation_id": conversation_id, "history": history}
    created = int(time.time())

    def extra(result: AskResult) -> dict[str, Any]:
        out = yiju_extra(result)
        notice = _adapter_notice(adapter, result)
        if notice:
            out["notice"] = notice
        return out

    stream: Iterator[dict] | None = None
    if body.stream:
        started = _stream_or_rejection(services, question, domain, who.client_id, channel="openai", **conv)
        if isinstance(started, JSONResponse):
            return started
        stream = started
    else:
        result = pipeline.ask(question, domain=domain, client_id=who.client_id, **conv)
        services.metrics.observe_answer(result.domain, result.status, result.flags, channel="openai")
        rejection = _rejection(services, question, result)
        if rejection is not None:
            return rejection
        text = visible_text(result)
        return {
            "id": f"chatcmpl-{result.turn_id}",
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": len(question),
                "completion_tokens": len(text),
                "total_tokens": len(question) + len(text),
            },
            "yiju": extra(result),
        }

    def chunks() -> Iterator[str]:
        chunk_id = f"chatcmpl-{int(time.time() * 1000)}"

        def chunk(delta: dict[str, Any], finish: str | None = None, extra: dict | None = None) -> str:
            payload: dict[str, Any] = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if extra is not None:
                payload["yiju"] = extra
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        sent = ""
        try:
            for event in stream or ():
                if event.get("type") == "token":
                    text = event.get("text", "")
                    sent += text
                    yield chunk({"content": text})
                elif event.get("type") == "final":
                    result: AskResult = event["result"]
                    services.metrics.observe_answer(
                        result.domain, result.status, result.flags, channel="openai"
                    )
                    full = visible_text(result)
                    # Tokens are the verified answer as it is produced; top up anything not yet sent.
                    tail = full[len(sent) :] if full.startswith(sent) else ""
                    yield chunk({"content": tail} if tail else {}, "stop", extra(result))
        except Exception as exc:
            log.exception("chat/completions stream failed")
            yield f"data: {json.dumps(_error_payload(exc), ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

"""Review queue and audit trail: queue, turns, approve/edit/reject, export (role: reviewer)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from assistant.api.auth import Principal, reviewer
from assistant.api.schemas import ErrorResponse, ReviewRequest, ReviewResponse
from assistant.api.services import Services
from assistant.release import release_decision

# FastAPI dependency markers, built once (module-level, as ruff B008 asks).
AS_REVIEWER = Depends(reviewer)
router = APIRouter(prefix="/v1/audit", tags=["review"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 422, 503)
}


def _services(request: Request) -> Services:
    return request.app.state.services


@router.get("/queue", responses=ERRORS, summary="Flagged answers waiting for review")
def queue(
    request: Request, limit: int = Query(default=50, ge=1, le=1000), who: Principal = AS_REVIEWER
) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json") for item in _services(request).audit().pending(limit=limit)]


@router.get("/turns", responses=ERRORS, summary="Recent audited turns (history)")
def turns(
    request: Request,
    limit: int = Query(default=50, ge=1, le=1000),
    status: str | None = Query(default=None),
    who: Principal = AS_REVIEWER,
) -> list[dict[str, Any]]:
    return _services(request).audit().list_turns(limit=limit, status=status)


@router.get("/turns/{turn_id}", responses=ERRORS, summary="One audited turn with its review history")
def turn(turn_id: str, request: Request, who: Principal = AS_REVIEWER) -> dict[str, Any]:
    found = _services(request).audit().get(turn_id)
    if found is None:
        raise HTTPException(404, f"turn {turn_id!r} not found")
    return found


@router.get("/feedback", responses=ERRORS, summary="Askers' 👍/👎 feedback, newest first (latest per turn)")
def feedback(
    request: Request,
    rating: Literal["up", "down"] | None = Query(default=None, description="down = only 👎"),
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    who: Principal = AS_REVIEWER,
) -> list[dict[str, Any]]:
    """Each rated turn once (its latest rating), with the comment, the question and how it was understood,
    the answer shown, domain, status and conversation id."""
    return _services(request).audit().list_feedback(rating=rating, limit=limit, offset=offset)


@router.get("/export", responses=ERRORS, summary="Export the audit trail (PII masked)")
def export(
    request: Request, fmt: Literal["jsonl", "csv"] = Query(default="jsonl"), who: Principal = AS_REVIEWER
) -> Response:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"audit.{fmt}"
        _services(request).audit().export(out, fmt)
        data = out.read_bytes()
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="yiju-audit.{fmt}"'}
    )


@router.post(
    "/{turn_id}/{decision}",
    response_model=ReviewResponse,
    responses=ERRORS,
    summary="Approve, edit or reject a flagged answer (exactly one decision wins; later ones get 409)",
)
def decide(
    turn_id: str,
    decision: Literal["approve", "edit", "reject"],
    request: Request,
    body: ReviewRequest | None = None,
    who: Principal = AS_REVIEWER,
) -> ReviewResponse:
    body = body or ReviewRequest()
    if decision == "edit" and not (body.edited_answer or "").strip():
        raise HTTPException(422, "edit needs a non-empty edited_answer")
    if decision != "edit" and body.picks:
        raise HTTPException(422, "picks are only valid with edit")
    # ReviewConflict (someone decided first) → 409, ReviewNotFound → 404, SelfReview (own question) → 403;
    # ReleaseError (an edit citing what was neither retrieved nor picked, no structure…) → 422.
    try:
        released = release_decision(
            _services(request).pipeline(),
            turn_id,
            who.name,
            decision,
            note=body.note,
            asker_note=body.asker_note,
            edited_answer=body.edited_answer if decision == "edit" else None,
            picks=body.picks,
            reviewer_client_id=who.client_id,
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return ReviewResponse(turn_id=turn_id, decision=decision, reviewer=who.name, released=released)

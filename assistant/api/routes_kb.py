"""Knowledge-base curation: upload/import, list, show, search, remove, stats (role: curator)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from assistant.api.auth import Principal, curator
from assistant.api.schemas import ErrorResponse, RemoveResponse
from assistant.api.services import Services
from assistant.api.uploads import MAX_FILES_PER_UPLOAD, UploadRejected, import_uploads

UPLOAD_FILES = File(
    description="Statutes/guidelines: .md/.markdown/.txt/.jsonl/.csv/.html text, .pdf (with a text layer) or .docx;"
    " no archives"
)

# FastAPI dependency markers, built once (module-level, as ruff B008 asks).
AS_CURATOR = Depends(curator)
router = APIRouter(prefix="/v1/kb", tags=["knowledge"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 413, 415, 422, 503)
}


def _services(request: Request) -> Services:
    return request.app.state.services


def _dump(obj: Any) -> Any:
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else obj


@router.get("/stats", responses=ERRORS, summary="Knowledge-base statistics")
def stats(request: Request, who: Principal = AS_CURATOR) -> dict[str, Any]:
    return _services(request).kb().stats()


@router.get(
    "/laws",
    responses=ERRORS,
    summary="List laws/guidelines: kind, versions/editions and which is served, effective date, articles, domains, origin",
)
def laws(
    request: Request,
    domain: str | None = Query(default=None, description="Only those serving this domain"),
    q: str | None = Query(
        default=None, max_length=200, description="Name contains (with or without 《》 and 中华人民共和国)"
    ),
    kind: str | None = Query(default=None, max_length=20, description="法律, 行政法规, 司法解释, 指南 …"),
    who: Principal = AS_CURATOR,
) -> list[dict[str, Any]]:
    return [_dump(info) for info in _services(request).kb().laws(domain, query=q, kind=kind)]


class DomainsBody(BaseModel):
    """The domains a law serves, primary first (e.g. ["medical", "legal"]); null = back to automatic."""

    model_config = ConfigDict(extra="forbid")
    domains: list[str] | None = Field(min_length=1, max_length=20)


@router.put("/laws/{law}/domains", responses=ERRORS, summary="Change the domains a law serves (no re-import)")
def set_domains(law: str, body: DomainsBody, request: Request, who: Principal = AS_CURATOR) -> dict[str, Any]:
    services = _services(request)
    with services.import_lock:
        chosen = services.kb().set_domains(law, body.domains, by=who.name)  # UnknownLaw -> 404
    return {"law": law, "domains": chosen}


@router.get("/laws/{law}/articles/{article_no}", responses=ERRORS, summary="Show one article verbatim")
def article(
    law: str,
    article_no: int,
    request: Request,
    version: str | None = Query(default=None),
    as_of: str | None = Query(default=None, description="YYYY-MM-DD: the version in force then"),
    who: Principal = AS_CURATOR,
) -> dict[str, Any]:
    passage = _services(request).kb().lookup(law, article_no, version=version, as_of=as_of)
    if passage is None:
        raise HTTPException(404, f"《{law}》 article {article_no} is not in the knowledge base")
    return {**_dump(passage), "citation": passage.citation}


@router.get("/search", responses=ERRORS, summary="Retrieve passages for a query")
def search(
    request: Request,
    q: str = Query(min_length=1, max_length=2000),
    domain: str | None = Query(default=None),
    law: str | None = Query(default=None),
    k: int = Query(default=5, ge=1, le=50),
    who: Principal = AS_CURATOR,
) -> list[dict[str, Any]]:
    passages = _services(request).kb().retrieve(q, domain=domain, k=k, law=law)
    return [{**_dump(p), "citation": p.citation} for p in passages]


@router.delete(
    "/laws/{law}", response_model=RemoveResponse, responses=ERRORS, summary="Remove a law (or one version)"
)
def remove(
    law: str,
    request: Request,
    version: str | None = Query(default=None),
    who: Principal = AS_CURATOR,
) -> RemoveResponse:
    services = _services(request)
    with services.import_lock:
        removed = services.kb().remove(law, version)
    if removed == 0:
        raise HTTPException(
            404, f"《{law}》{' version ' + version if version else ''} is not in the knowledge base"
        )
    return RemoveResponse(law=law, version=version, removed=removed)


@router.post("/import", responses=ERRORS, summary="Upload statute/guideline files and import them")
def import_files(
    request: Request,
    files: list[UploadFile] = UPLOAD_FILES,
    domain: str = Form(default="auto", description="legal | medical | auto"),
    strict: bool = Form(default=False),
    who: Principal = AS_CURATOR,
) -> dict[str, Any]:
    """Every file is checked (name, type, size, text content) before anything is stored; one bad file
    refuses the whole upload. Import errors name the uploaded file and line."""
    services = _services(request)
    limit = services.config.server.max_upload_bytes
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise HTTPException(400, f"at most {MAX_FILES_PER_UPLOAD} files per upload")
    # Read at most limit+1 bytes per file: enough to know it is too big without buffering more.
    payload = [(upload.filename, upload.file.read(limit + 1)) for upload in files]
    try:
        return import_uploads(services, payload, domain=domain, strict=strict, uploader=who.name)
    except UploadRejected as exc:
        raise HTTPException(exc.status, str(exc)) from None

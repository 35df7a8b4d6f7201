"""Rights holders' works: register (upload), list, read, change opt-out, delete."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from sqlalchemy import func, select

from api.auth import Principal
from api.deps import get_service, require
from api.errors import ApiError, not_found
from api.schemas import Id, OptOut, Work, WorkPage, WorkUpdate, errors
from api.service import Service
from reference_db.models import ReferenceFrame, RightsHolder, ScanJob
from reference_db.models import Work as WorkRow

router = APIRouter(prefix="/v1/works", tags=["works"])
owners = require("admin", "rights_holder")
MAX_METADATA_BYTES = 64 * 1024
_SCOPES = {"no_train": (True, False), "no_generate": (False, True), "all": (True, True), "none": (False, False)}


def to_work(row: WorkRow, frames: int) -> Work:
    return Work(
        id=row.id, title=row.title, holder_id=row.holder_id, holder=row.holder.name, kind=row.kind,
        media_format=row.media_format, sha256=row.sha256, size_bytes=row.size_bytes, duration=row.duration,
        width=row.width, height=row.height, frames=frames,
        opt_out=OptOut(train=row.opt_out_train, generate=row.opt_out_generate),
        opt_out_scope=[s for s, flag in (("no_train", row.opt_out_train), ("no_generate", row.opt_out_generate)) if flag],
        metadata=row.extra or {}, source_name=row.source_name, created_at=row.created_at,
    )


def parse_opt_out(values: list[str]) -> tuple[bool, bool]:
    train = generate = False
    for value in values:
        for token in (t.strip().lower() for t in value.split(",")):
            if not token:
                continue
            if token not in _SCOPES:
                raise ApiError(422, "invalid_request", f"opt_out: unknown scope {token!r}; use no_train, no_generate, all or none")
            t, g = _SCOPES[token]
            train, generate = train or t, generate or g
    return train, generate


def parse_metadata(raw: str | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {}
    if len(raw.encode()) > MAX_METADATA_BYTES:
        raise ApiError(422, "invalid_request", f"metadata: more than {MAX_METADATA_BYTES:,} bytes")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(422, "invalid_request", f"metadata: not valid JSON ({exc.msg})") from exc
    if not isinstance(value, dict):
        raise ApiError(422, "invalid_request", "metadata: must be a JSON object")
    return value


def _owned(session, work_id: int, principal: Principal) -> WorkRow:
    work = session.get(WorkRow, work_id)
    if work is None or (principal.role == "rights_holder" and work.holder_id != principal.holder_id):
        raise not_found("work")
    work.holder
    return work


def _frames(session, work_ids: list[int]) -> dict[int, int]:
    if not work_ids:
        return {}
    rows = session.execute(
        select(ReferenceFrame.work_id, func.count())
        .where(ReferenceFrame.work_id.in_(work_ids), ReferenceFrame.variant == "full")
        .group_by(ReferenceFrame.work_id)
    )
    return {work_id: int(n) for work_id, n in rows}


def _holder_for(principal: Principal, requested: str | None, service: Service) -> str:
    if principal.role == "rights_holder":
        if requested is not None and requested.strip() != principal.holder_name:
            raise ApiError(403, "forbidden", "a rights_holder key registers works for its own holder only")
        assert principal.holder_name is not None
        return principal.holder_name
    if not requested or not requested.strip():
        raise ApiError(422, "invalid_request", "holder: an admin key must name the rights holder")
    with service.store.session() as session:
        if session.scalar(select(RightsHolder.id).where(RightsHolder.name == requested.strip())) is None:
            raise ApiError(404, "not_found", "no such rights holder")
    return requested.strip()


@router.post(
    "",
    status_code=201,
    response_model=Work,
    responses={200: {"model": Work, "description": "These bytes were already registered for this holder."}, **errors(401, 403, 404, 413, 422)},
    summary="Register a work (multipart upload)",
    description="Uploads an image or video, fingerprints it and adds it to every index. The format is sniffed from the "
    "bytes; the file name is only displayed. Registering the same bytes again for the same holder answers `200` with "
    "the existing work.",
)
def create_work(
    response: Response,
    file: UploadFile = File(description="The image or video."),
    title: str | None = Form(default=None, max_length=500, description="Default: the file name without extension."),
    metadata: str | None = Form(default=None, description='A JSON object, e.g. `{"isrc": "…"}`.', examples=['{"isrc": "US-S1Z-99-00001"}']),
    opt_out: list[str] = Form(default=[], description="Opt-out scopes: `no_train`, `no_generate` (repeat or comma-separate), `all`."),
    holder: str | None = Form(default=None, description="Admin keys only: the rights holder's name."),
    principal: Principal = Depends(owners),
    service: Service = Depends(get_service),
) -> Work:
    holder_name = _holder_for(principal, holder, service)
    train, generate = parse_opt_out(opt_out)
    extra = parse_metadata(metadata)
    with service.blobs.staged(file.file, file.filename, service.settings.limits.max_file_bytes) as upload:
        registered = service.runtime.registrar.register(
            upload.path, holder_name, title, train, generate, extra, source_name=upload.name
        )
    service.blobs.commit(upload)
    service.runtime.searcher.refresh()
    with service.store.session() as session:
        row = _owned(session, registered.work.id, principal)
        result = to_work(row, _frames(session, [row.id]).get(row.id, 0))
    response.status_code = 201 if registered.created else 200
    response.headers["Location"] = f"/v1/works/{result.id}"
    return result


@router.get("", response_model=WorkPage, responses=errors(401, 403, 422), summary="List works (own works for rights holders)")
def list_works(
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    kind: str | None = Query(None, pattern="^(image|video)$"),
    opted_out: bool | None = Query(None, description="Only works opted out of anything (true) or of nothing (false)."),
    scope: str | None = Query(None, pattern="^(no_train|no_generate)$", description="Only works opted out of this scope."),
    q: str | None = Query(None, max_length=200, description="Title contains (case-insensitive)."),
    holder: str | None = Query(None, description="Admin keys only: one holder's works."),
    principal: Principal = Depends(owners),
    service: Service = Depends(get_service),
) -> WorkPage:
    query = select(WorkRow).join(RightsHolder, WorkRow.holder_id == RightsHolder.id)
    if principal.role == "rights_holder":
        query = query.where(WorkRow.holder_id == principal.holder_id)
    elif holder is not None:
        query = query.where(RightsHolder.name == holder)
    if kind:
        query = query.where(WorkRow.kind == kind)
    if opted_out is not None:
        flag = WorkRow.opt_out_train | WorkRow.opt_out_generate
        query = query.where(flag if opted_out else ~flag)
    if scope == "no_train":
        query = query.where(WorkRow.opt_out_train.is_(True))
    elif scope == "no_generate":
        query = query.where(WorkRow.opt_out_generate.is_(True))
    if q:
        query = query.where(func.lower(WorkRow.title).contains(q.lower(), autoescape=True))
    with service.store.session() as session:
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = list(session.scalars(query.order_by(WorkRow.id).offset(offset).limit(limit)))
        frames = _frames(session, [r.id for r in rows])
        items = [to_work(r, frames.get(r.id, 0)) for r in rows]
    return WorkPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{work_id}", response_model=Work, responses=errors(401, 403, 404), summary="Get a work")
def get_work(work_id: Id, principal: Principal = Depends(owners), service: Service = Depends(get_service)) -> Work:
    with service.store.session() as session:
        row = _owned(session, work_id, principal)
        return to_work(row, _frames(session, [row.id]).get(row.id, 0))


@router.patch("/{work_id}", response_model=Work, responses=errors(401, 403, 404, 422), summary="Change a work's opt-out, title or metadata")
def update_work(
    work_id: Id, body: WorkUpdate, principal: Principal = Depends(owners), service: Service = Depends(get_service)
) -> Work:
    with service.store.session() as session:
        row = _owned(session, work_id, principal)
        if body.title is not None:
            row.title = body.title
        if body.opt_out is not None:
            if body.opt_out.train is not None:
                row.opt_out_train = body.opt_out.train
            if body.opt_out.generate is not None:
                row.opt_out_generate = body.opt_out.generate
        if body.metadata is not None:
            if len(json.dumps(body.metadata).encode()) > MAX_METADATA_BYTES:
                raise ApiError(422, "invalid_request", f"metadata: more than {MAX_METADATA_BYTES:,} bytes")
            row.extra = body.metadata
        session.flush()
        return to_work(row, _frames(session, [row.id]).get(row.id, 0))


@router.delete(
    "/{work_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404),
    summary="Delete a work and its fingerprints from every index",
)
def delete_work(work_id: Id, principal: Principal = Depends(owners), service: Service = Depends(get_service)) -> Response:
    with service.store.session() as session:
        sha256 = _owned(session, work_id, principal).sha256
    service.store.remove_work(work_id)  # logs the removal: every process's indexes drop it on refresh
    service.runtime.searcher.refresh()
    with service.store.session() as session:
        still_used = session.scalar(select(func.count()).select_from(WorkRow).where(WorkRow.sha256 == sha256)) or 0
        still_used += session.scalar(select(func.count()).select_from(ScanJob).where(ScanJob.blob_sha256 == sha256)) or 0
    if not still_used:
        service.blobs.delete(sha256)
    return Response(status_code=204)

"""Review scans: durable jobs with a report in the SCAN schema of ``provenance scan --json``."""
from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import func, select

from api.auth import Principal
from api.deps import get_service, require
from api.errors import ApiError, not_found
from api.report import render_scan_html
from api.schemas import ErrorBody, Scan, ScanLinks, ScanPage, errors, json_errors
from api.service import Service
from provenance.media.probe import probe_media
from reference_db.models import ScanJob

router = APIRouter(prefix="/v1/scans", tags=["scans"])
reviewers = require("admin", "reviewer")


def to_scan(job: ScanJob, with_report: bool = True) -> Scan:
    error = ErrorBody(code=job.error_code, message=job.error_message or "") if job.status == "failed" and job.error_code else None
    return Scan(
        id=job.id, status=job.status, source_name=job.source_name, media_format=job.media_format, size_bytes=job.size_bytes,
        sha256=job.blob_sha256, attempts=job.attempts, verdict=job.verdict, error=error, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at,
        report=job.report if with_report and job.status == "done" else None,
        links=ScanLinks(self=f"/v1/scans/{job.id}", report_html=f"/v1/scans/{job.id}/report.html"),
    )


def _load(service: Service, scan_id: str, principal: Principal) -> ScanJob:
    with service.store.session() as session:
        job = session.get(ScanJob, scan_id[:64])
        if job is None or (not principal.is_admin and job.owner_key_id != principal.key_id):
            raise not_found("scan")
        return job


def _accept(service: Service, principal: Principal, file: UploadFile, top: int) -> ScanJob:
    """Store the upload (checked first: a bad one leaves nothing behind) and queue its scan."""
    with service.blobs.staged(file.file, file.filename, service.settings.limits.max_file_bytes) as upload:
        source = probe_media(upload.path, service.settings)
    service.blobs.commit(upload)
    return service.queue.enqueue(
        owner_key_id=principal.key_id, blob_sha256=upload.sha256, media_format=source.format,
        size_bytes=upload.size, source_name=upload.name, top=top,
    )


@router.post(
    "",
    status_code=202,
    response_model=Scan,
    responses={
        200: {"model": Scan, "description": "Finished within `wait` seconds: the scan with its report (or its failure)."},
        **errors(401, 403, 413, 422),
    },
    summary="Submit a scan (multipart upload)",
    description="Checks the upload (format sniffed from its bytes, size, pixel count, duration, integrity), stores it and "
    "queues the scan. Answers `202` with the scan and a `Location` header; with `wait=SECONDS` it answers `200` with the "
    "report if the scan finishes in time.",
)
async def create_scan(
    request: Request,
    file: UploadFile = File(description="The image or video to check."),
    top: int = Form(default=5, ge=1, le=50, description="How many candidate works to report."),
    wait: float = Query(default=0.0, ge=0, description="Seconds to wait for the result (capped by the server)."),
    principal: Principal = Depends(reviewers),
    service: Service = Depends(get_service),
):
    job = await run_in_threadpool(_accept, service, principal, file, top)
    if service.worker is not None:
        service.worker.wake()
    headers = {"Location": f"/v1/scans/{job.id}"}
    deadline = time.monotonic() + min(wait, service.config.scan_wait_max_s)
    delay = 0.02
    while wait > 0 and time.monotonic() < deadline:
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.25)
        job = await run_in_threadpool(_load, service, job.id, principal)
        if job.status in ("done", "failed"):
            return JSONResponse(to_scan(job).model_dump(mode="json"), status_code=200, headers=headers)
    return JSONResponse(to_scan(job).model_dump(mode="json"), status_code=202, headers=headers)


@router.get("", response_model=ScanPage, responses=errors(401, 403, 422), summary="List scans (own scans for reviewers)")
def list_scans(
    status: str | None = Query(None, pattern="^(queued|running|done|failed)$"),
    verdict: str | None = Query(None, pattern="^(match|similar|no_match)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    with_reports: bool = Query(False, description="Include each finished scan's report."),
    principal: Principal = Depends(reviewers),
    service: Service = Depends(get_service),
) -> ScanPage:
    query = select(ScanJob)
    if not principal.is_admin:
        query = query.where(ScanJob.owner_key_id == principal.key_id)
    if status:
        query = query.where(ScanJob.status == status)
    if verdict:
        query = query.where(ScanJob.verdict == verdict)
    with service.store.session() as session:
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = list(session.scalars(query.order_by(ScanJob.created_at.desc(), ScanJob.id).offset(offset).limit(limit)))
    return ScanPage(items=[to_scan(r, with_reports) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{scan_id}", response_model=Scan, responses=errors(401, 403, 404), summary="Get a scan: status and report")
def get_scan(scan_id: str, principal: Principal = Depends(reviewers), service: Service = Depends(get_service)) -> Scan:
    return to_scan(_load(service, scan_id, principal))


@router.get(
    "/{scan_id}/report.html",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The readable report, evidence frames inlined."},
               **json_errors(401, 403, 404, 409)},
    summary="The scan's readable HTML report",
)
def get_report_html(scan_id: str, principal: Principal = Depends(reviewers), service: Service = Depends(get_service)) -> Response:
    job = _load(service, scan_id, principal)
    if job.status != "done" or job.report is None:
        detail = f": {job.error_message}" if job.status == "failed" and job.error_message else ""
        raise ApiError(409, "not_ready", f"scan {job.id} is {job.status}{detail}; the report exists once it is done")
    html = render_scan_html(job.report, job.evidence, service.blobs, service.store)
    return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'"})

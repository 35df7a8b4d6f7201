"""Opt-out check: does an image (or a PDQ hash) match a work whose holder opted it out?

For AI companies filtering training data. Uploads are checked in memory and a temporary
file; nothing of them is stored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.auth import Principal
from api.blobs import client_name
from api.deps import get_service, require
from api.errors import ApiError
from provenance.media.probe import probe_media
from api.schemas import ErrorBody, HashCheck, OptOut, OptOutCheckResult, OptOutItem, OptOutMatch, errors
from api.service import Service
from provenance.errors import MediaError
from provenance.media import load_media
from provenance.signals.base import hamming
from provenance.signals.pdq import PDQ_THRESHOLD, PdqSignal
from provenance.signals.phash import PHashSignal
from reference_db.indexes.base import IndexSpec

router = APIRouter(prefix="/v1/optout", tags=["opt-out"])
checkers = require("admin", "optout_client")

PDQ_SPEC = IndexSpec("pdq", "hamming", 256, "pdq")
PHASH_SPEC = IndexSpec("phash", "hamming", 64, "phash")
PHASH_THRESHOLD = int(PHashSignal.default_threshold)
NEIGHBOURS = 64  # nearest frames examined per item; the opted-out ones among them decide
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass
class _Query:
    pdq: bytes
    quality: int | None = None
    phash: bytes | None = None


def _covered(work, scope: str) -> bool:
    if scope == "no_train":
        return work.opt_out_train
    if scope == "no_generate":
        return work.opt_out_generate
    return work.opt_out_train or work.opt_out_generate


def _check(service: Service, queries: list[_Query], scope: str) -> list[OptOutMatch | None]:
    searcher, store = service.runtime.searcher, service.store
    searcher.refresh()
    pdq_hits = searcher.search(PDQ_SPEC, [q.pdq for q in queries], NEIGHBOURS)
    with_phash = [i for i, q in enumerate(queries) if q.phash is not None]
    phash_hits = dict(zip(with_phash, searcher.search(PHASH_SPEC, [queries[i].phash for i in with_phash], NEIGHBOURS))) if with_phash else {}
    work_ids = {n.work_id for hits in pdq_hits for n in hits} | {n.work_id for hits in phash_hits.values() for n in hits}
    works = {w: work for w, work in store.works_by_id(sorted(work_ids)).items() if _covered(work, scope)} if work_ids else {}
    frame_ids = {n.frame_id for hits in pdq_hits for n in hits if n.work_id in works}
    frame_ids |= {n.frame_id for hits in phash_hits.values() for n in hits if n.work_id in works}
    frames = store.frames_by_id(sorted(frame_ids)) if frame_ids else {}
    results: list[OptOutMatch | None] = []
    for i, query in enumerate(queries):
        best: tuple[int, int, int | None, int] | None = None  # (pdq distance, phash distance or 99, phash, work)
        for frame_id in {n.frame_id for n in pdq_hits[i]} | {n.frame_id for n in phash_hits.get(i, [])}:
            frame = frames.get(frame_id)
            if frame is None or frame.work_id not in works or frame.pdq is None:
                continue
            pdq_distance = hamming(query.pdq, frame.pdq)
            phash_distance = hamming(query.phash, frame.phash) if query.phash is not None and frame.phash is not None else None
            if pdq_distance <= PDQ_THRESHOLD or (phash_distance is not None and phash_distance <= PHASH_THRESHOLD):
                key = (pdq_distance, phash_distance if phash_distance is not None else 99, phash_distance, frame.work_id)
                if best is None or key < best:
                    best = key
        if best is None:
            results.append(None)
            continue
        work = works[best[3]]
        results.append(
            OptOutMatch(
                work_id=work.id, title=work.title, holder=work.holder.name,
                opt_out=OptOut(train=work.opt_out_train, generate=work.opt_out_generate),
                pdq_distance=best[0], phash_distance=best[2],
            )
        )
    return results


def _hash_file(service: Service, upload_file: UploadFile) -> _Query:
    limit = service.settings.limits.max_file_bytes
    with service.blobs.staged(upload_file.file, upload_file.filename, limit, keep=False) as upload:  # nothing is kept
        source = probe_media(upload.path, service.settings)
        if source.kind != "image":
            raise MediaError(f"{upload.name}: the opt-out check takes images (or PDQ hashes), not {source.format.upper()} video")
        rgb = load_media(upload.path, service.settings).frames[0].rgb
        pdq = PdqSignal().compute([rgb])[0]
        phash = PHashSignal().compute([rgb])[0]
        return _Query(pdq.value, pdq.quality, phash.value)


def _run(service: Service, files: list[UploadFile], hashes: list[str], scope: str) -> OptOutCheckResult:
    items: list[OptOutItem] = []
    queries: list[tuple[int, _Query]] = []
    for file in files:
        item = OptOutItem(index=len(items), input="file", name=client_name(file.filename), opted_out=False)
        try:
            query = _hash_file(service, file)
            item.pdq, item.pdq_quality = query.pdq.hex(), query.quality
            queries.append((item.index, query))
        except MediaError as exc:
            item.error = ErrorBody(code=exc.code, message=str(exc))
        items.append(item)
    for raw in hashes:
        value = raw.strip()
        item = OptOutItem(index=len(items), input="pdq", pdq=value.lower()[:64], opted_out=False)
        if _HEX64.match(value):
            queries.append((item.index, _Query(bytes.fromhex(value))))
        else:
            item.error = ErrorBody(code="invalid_hash", message=f"not a PDQ hash (64 hex characters): {value[:80]!r}")
        items.append(item)
    if queries:
        for (index, _), match in zip(queries, _check(service, [q for _, q in queries], scope)):
            items[index].match = match
            items[index].opted_out = match is not None
    return OptOutCheckResult(scope=scope, items=items)


def _bounded(service: Service, count: int) -> None:
    if count == 0:
        raise ApiError(422, "invalid_request", "send at least one image (files) or PDQ hash (pdq)")
    if count > service.config.optout_max_items:
        raise ApiError(422, "invalid_request", f"at most {service.config.optout_max_items} items per request, got {count}")


@router.post(
    "/check",
    response_model=OptOutCheckResult,
    responses=errors(401, 403, 413, 422),
    summary="Check images or PDQ hashes against opted-out works (multipart)",
    description="Per item: whether it matches a work opted out for `scope` (`no_train`, `no_generate`, or `any`), and "
    "which. Images are hashed with PDQ and pHash; a match is PDQ within 31 bits or pHash within 8. An item that cannot "
    "be read gets an `error` and the others are still answered.",
)
async def check(
    files: list[UploadFile] = File(default=[], description="Images to check."),
    pdq: list[str] = Form(default=[], description="Precomputed PDQ hashes (64 hex characters each)."),
    scope: str = Form(default="any", pattern="^(any|no_train|no_generate)$"),
    principal: Principal = Depends(checkers),
    service: Service = Depends(get_service),
) -> OptOutCheckResult:
    _bounded(service, len(files) + len(pdq))
    return await run_in_threadpool(_run, service, files, pdq, scope)


@router.post(
    "/check-hashes",
    response_model=OptOutCheckResult,
    responses=errors(401, 403, 422),
    summary="Check precomputed PDQ hashes against opted-out works (JSON)",
)
async def check_hashes(
    body: HashCheck, principal: Principal = Depends(checkers), service: Service = Depends(get_service)
) -> OptOutCheckResult:
    _bounded(service, len(body.pdq))
    return await run_in_threadpool(_run, service, [], body.pdq, body.scope)

"""Liveness, readiness and Prometheus metrics (no API key: for orchestrators and scrapers)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import get_service
from api.metrics import CONTENT_TYPE
from api.schemas import Health, Readiness
from api.service import Service

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the store is unreachable or the indexes are still loading."}},
    summary="The store is reachable and the indexes are loaded",
)
async def readyz(service: Service = Depends(get_service)):
    ready, checks = await run_in_threadpool(service.readiness)
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text exposition format."}},
    summary="Prometheus metrics",
)
async def metrics(service: Service = Depends(get_service)) -> Response:
    return Response(await run_in_threadpool(service.metrics.render), media_type=CONTENT_TYPE)

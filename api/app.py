"""The FastAPI application: ``create_app(settings)``.

The lifespan opens one ``Service`` (runtime, blobs, job queue, batcher) per process and,
when configured, starts the in-process scan worker: by default on SQLite (the embedded
store has one worker, inside the server); on PostgreSQL workers usually run apart
(``provenance worker``), though ``provenance serve`` can run one inside too.
"""
from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from api.config import ServiceConfig
from api.errors import install_error_handlers
from api.limits import BodyLimitMiddleware
from api.routers import admin, health, optout, scans, works
from api.service import Service
from provenance.settings import Settings

log = logging.getLogger(__name__)

MULTIPART_OVERHEAD = 1 << 20  # form fields and part headers beside the file itself

DESCRIPTION = """
Register rights holders' works, check uploads against them, and let AI companies filter
opted-out works out of training data.

**Authentication**: every `/v1` endpoint needs an API key, sent as `X-API-Key: prov_…` or
`Authorization: Bearer prov_…`. Roles: `admin` (holders and keys), `rights_holder` (its own
works), `reviewer` (scans and reports), `optout_client` (opt-out checks).

**Errors** always have the shape `{"error": {"code": "...", "message": "..."}}`. Objects that
do not exist and objects that belong to someone else both answer `404`.
"""

TAGS = [
    {"name": "admin", "description": "Rights holders and API keys (admin keys)."},
    {"name": "works", "description": "A rights holder's registered works and their opt-out."},
    {"name": "scans", "description": "Review scans: durable jobs with reports."},
    {"name": "opt-out", "description": "Opt-out checks for training-data filtering."},
    {"name": "health", "description": "Liveness, readiness, metrics."},
]


def create_app(
    settings: Settings | None = None, config: ServiceConfig | None = None, *, run_worker: bool | None = None
) -> FastAPI:
    settings = settings or Settings.from_env()
    config = config or ServiceConfig.from_env()
    if run_worker is None:
        run_worker = config.run_worker if config.run_worker is not None else settings.is_sqlite

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service = await run_in_threadpool(Service.open, settings, config)
        app.state.service = service
        try:
            service.warm_in_background()
            if run_worker:
                service.start_worker()
            yield
        finally:
            await run_in_threadpool(service.close)

    app = FastAPI(
        title="Provenance API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    install_error_handlers(app)

    @app.middleware("http")
    async def record(request: Request, call_next):
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            service = getattr(request.app.state, "service", None)
            if service is not None:
                route = request.scope.get("route")
                path = getattr(route, "path", "unmatched")
                service.metrics.requests.labels(request.method, path, str(status)).inc()
                service.metrics.request_seconds.labels(request.method, path).observe(time.perf_counter() - started)

    for module in (admin, works, scans, optout, health):
        app.include_router(module.router)
    # outermost: an oversized body is refused before anything reads it
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.limits.max_file_bytes + MULTIPART_OVERHEAD,
        max_upload_bytes=settings.limits.max_file_bytes,
    )
    return app

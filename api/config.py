"""Settings of the HTTP service and its workers, read from ``PROVENANCE_*`` variables.

The core settings (home, database, models, media limits) stay in
``provenance.settings.Settings``; this adds what only the service needs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping


@dataclass(frozen=True)
class ServiceConfig:
    worker_threads: int = 4  # scans run concurrently per worker process; their frames share CLIP batches
    batch_max_size: int = 32  # most frames per CLIP forward pass across requests
    batch_max_wait_ms: float = 10.0  # how long a batch waits for more frames once it has one
    job_lease_s: float = 30.0  # a running job whose worker stops heartbeating is reclaimed after this
    job_max_attempts: int = 3  # claims of one job before it is failed (a job that keeps killing workers)
    job_poll_s: float = 0.5  # idle workers look for queued jobs this often (sooner when woken in-process)
    scan_wait_max_s: float = 60.0  # the longest ?wait= honoured by POST /v1/scans
    optout_max_items: int = 64  # images + hashes per opt-out check request
    run_worker: bool | None = None  # None: in-process worker on SQLite only; serve/worker commands decide otherwise

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ServiceConfig":
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"PROVENANCE_{f.name.upper()}")
            if raw in (None, ""):
                continue
            if f.type in ("bool", "bool | None"):
                values[f.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            elif f.type == "int":
                values[f.name] = int(raw)
            else:
                values[f.name] = float(raw)
        return cls(**values)

    def with_overrides(self, **changes: Any) -> "ServiceConfig":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

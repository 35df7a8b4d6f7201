"""Helpers and fixtures for the HTTP service tests (``tests/test_api_*.py``).

- ``api``: an in-process app (FastAPI ``TestClient``, lifespan included) on a fresh store,
  once on SQLite and once on PostgreSQL + pgvector (the ``database_url`` fixture), with an
  admin key, two rights holders with their keys, a reviewer and an opt-out client.
- ``ServeProcess``: a real ``provenance serve`` on 127.0.0.1 and a free port.
- ``stored_state``: what a request may have left behind (rows, blobs, index changes).
"""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.auth import issue_key
from api.config import ServiceConfig
from api.service import Service
from provenance.settings import MediaLimits, Settings
from reference_db.models import ApiKey, ReferenceFrame, RightsHolder, ScanJob, StoreChange, Work
from tests.media_factory import drawn_image, write_video

REPO = Path(__file__).resolve().parents[1]
FAST_CONFIG = ServiceConfig(worker_threads=2, job_poll_s=0.1, job_lease_s=5.0, batch_max_wait_ms=5.0)


# -- media -----------------------------------------------------------------------------
def image_bytes(seed: int, fmt: str = "JPEG", size: tuple[int, int] = (480, 360)) -> bytes:
    buffer = io.BytesIO()
    drawn_image(seed, size).save(buffer, format=fmt)
    return buffer.getvalue()


def video_bytes(folder: Path, seconds: float = 3.0, seed: int = 0, size=(320, 240), fps: int = 12) -> bytes:
    path = folder / f"v{seed}-{seconds}-{size[0]}x{size[1]}.mp4"
    if not path.exists():
        write_video(path, seconds=seconds, seed=seed, size=size, fps=fps)
    return path.read_bytes()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims huge dimensions: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


# -- settings and keys -------------------------------------------------------------------
def api_settings(home: Path, database_url: str | None, **limits: Any) -> Settings:
    return Settings(
        home=home,
        database_url=database_url,
        clip_enabled=False,
        signals=("pdq", "phash"),
        limits=replace(MediaLimits(), **limits),
        store_frame_images=True,
    )


def issue(service_or_store, role: str, holder: str | None = None) -> str:
    store = getattr(service_or_store, "store", service_or_store)
    with store.session() as session:
        holder_row = store.get_or_create_holder(session, holder) if holder else None
        return issue_key(session, role, holder_row).secret


def key(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


@dataclass
class ApiEnv:
    client: TestClient
    service: Service
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return key(self.keys[who])

    def register(self, who: str, data: bytes, name: str = "work.jpg", **form: Any) -> httpx.Response:
        return self.client.post("/v1/works", files={"file": (name, data)}, data=form, headers=self.h(who))

    def scan(self, who: str, data: bytes, name: str = "query.jpg", wait: float = 0.0, **form: Any) -> httpx.Response:
        return self.client.post(f"/v1/scans?wait={wait}", files={"file": (name, data)}, data=form, headers=self.h(who))


@contextmanager
def running_api(settings: Settings, config: ServiceConfig = FAST_CONFIG, run_worker: bool | None = True) -> Iterator[ApiEnv]:
    app = create_app(settings, config, run_worker=run_worker)
    with TestClient(app) as client:
        service: Service = app.state.service
        service.warmed.wait(30)
        env = ApiEnv(client, service, settings)
        env.keys = {
            "admin": issue(service, "admin"),
            "alice": issue(service, "rights_holder", "Alice"),
            "bob": issue(service, "rights_holder", "Bob"),
            "reviewer": issue(service, "reviewer"),
            "reviewer2": issue(service, "reviewer"),
            "optout": issue(service, "optout_client"),
        }
        yield env


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[ApiEnv]:
    with running_api(api_settings(tmp_path / "home", None if database_url.startswith("sqlite") else database_url)) as env:
        yield env


def wait_for_scan(client, scan_id: str, headers: dict[str, str], timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/scans/{scan_id}", headers=headers).json()
        if body.get("status") in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


# -- what was stored -----------------------------------------------------------------------
def stored_state(service: Service) -> dict[str, Any]:
    """Rows, blobs and index changes: a rejected request must leave all of them unchanged."""
    with service.store.session() as session:
        counts = {
            name: int(session.scalar(select(func.count()).select_from(model)))
            for name, model in (("works", Work), ("frames", ReferenceFrame), ("changes", StoreChange),
                                ("scans", ScanJob), ("holders", RightsHolder), ("keys", ApiKey))
        }
    counts["blobs"] = sorted(str(p.relative_to(service.blobs.root)) for p in service.blobs.files())
    return counts


# -- a real server process -------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(home: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env.update(
        PROVENANCE_HOME=str(home),
        PROVENANCE_CLIP_ENABLED="false",
        PROVENANCE_SIGNALS="pdq,phash",
        PROVENANCE_JOB_POLL_S="0.1",
        PROVENANCE_JOB_LEASE_S="5",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["PROVENANCE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


class ServeProcess:
    """``provenance serve`` (or any ``provenance`` command) as a child process."""

    def __init__(self, env: dict[str, str], log_path: Path, args: list[str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.env, self.log_path = env, log_path
        self.args = args if args is not None else ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_ready: bool = True, timeout: float = 90.0) -> "ServeProcess":
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "provenance", *self.args], env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()


def cli_json(env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "provenance", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)

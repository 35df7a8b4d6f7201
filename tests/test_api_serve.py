"""A real `provenance serve` on 127.0.0.1: keys from the CLI, uploads over HTTP, and a kill -9 in the
middle of the queue after which every scan still ends `done`, once. On SQLite and PostgreSQL."""
from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.api_helpers import ServeProcess, cli_json, image_bytes, key, service_env, video_bytes

pytestmark = pytest.mark.slow
SCANS = 12


def _statuses(client: httpx.Client, ids: list[str], headers) -> dict[str, dict]:
    return {scan_id: client.get(f"/v1/scans/{scan_id}", headers=headers).json() for scan_id in ids}


def _wait_all_finished(client: httpx.Client, ids: list[str], headers, timeout: float = 90.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        scans = _statuses(client, ids, headers)
        if all(s["status"] in ("done", "failed") for s in scans.values()) or time.monotonic() > deadline:
            return scans
        time.sleep(0.25)


def test_serve_survives_kill_9_with_no_scan_lost_or_duplicated(tmp_path: Path, database_url: str) -> None:
    on_postgres = not database_url.startswith("sqlite")
    env = service_env(tmp_path / "home", database_url, PROVENANCE_WORKER_THREADS="1", PROVENANCE_SAMPLE_FPS="4")
    admin = cli_json(env, "keys", "create", "--role", "admin", "--json")["key"]
    holder = cli_json(env, "keys", "create", "--role", "rights_holder", "--holder", "Alice", "--json")
    reviewer = cli_json(env, "keys", "create", "--role", "reviewer", "--json")["key"]
    assert holder["holder"] == "Alice" and holder["key"].startswith("prov_")
    listed = cli_json(env, "keys", "list", "--json")["keys"]
    assert [k["role"] for k in listed] == ["admin", "rights_holder", "reviewer"] and "key" not in listed[0]

    server = ServeProcess(env, tmp_path / "serve.log").start()
    extra_worker = None
    if on_postgres:  # a second worker process claims from the same queue (SKIP LOCKED)
        extra_worker = ServeProcess(env, tmp_path / "worker.log", args=["worker", "--threads", "1"]).start(wait_ready=False)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            assert client.get("/v1/works").status_code == 401
            work_video = video_bytes(tmp_path, 4.0, seed=60)
            r = client.post("/v1/works", files={"file": ("work.mp4", work_video)}, data={"opt_out": "all"}, headers=key(holder["key"]))
            assert r.status_code == 201, r.text
            assert client.get("/v1/keys", headers=key(admin)).status_code == 200
            assert client.post("/v1/works", files={"file": ("x.jpg", image_bytes(1))}, headers=key(reviewer)).status_code == 403

            uploads = [video_bytes(tmp_path, 4.0, seed=60 + (i % 3), size=(320, 240)) for i in range(SCANS)]
            ids = []
            for i, data in enumerate(uploads):
                r = client.post("/v1/scans", files={"file": (f"clip{i}.mp4", data)}, headers=key(reviewer))
                assert r.status_code == 202, r.text
                ids.append(r.json()["id"])
            # kill -9 while scans are running and others wait in the queue
            deadline = time.monotonic() + 30
            while True:
                seen = [s["status"] for s in _statuses(client, ids, key(reviewer)).values()]
                if "running" in seen and "queued" in seen:
                    break
                assert time.monotonic() < deadline and "queued" in seen, seen
                time.sleep(0.02)
        server.kill()
        if extra_worker is not None:
            extra_worker.kill()
        at_kill = {status: seen.count(status) for status in set(seen)}
        assert at_kill.get("queued", 0) >= 1 and at_kill.get("running", 0) >= 1

        server.start()  # the same home and database
        with httpx.Client(base_url=server.url, timeout=30) as client:
            scans = _wait_all_finished(client, ids, key(reviewer))
            assert [s["status"] for s in scans.values()] == ["done"] * SCANS, {k: (s["status"], s.get("error")) for k, s in scans.items()}
            for i, scan in enumerate(scans.values()):
                assert scan["report"]["path"] == f"clip{i}.mp4"
                assert scan["report"]["verdict"] in ("match", "similar", "no_match")
                assert 1 <= scan["attempts"] <= 2
            assert scans[ids[0]]["report"]["verdict"] == "match"  # the registered video itself
            assert any(s["attempts"] == 2 for s in scans.values())  # the scan(s) killed mid-run ran again
            listed = client.get("/v1/scans?limit=100", headers=key(reviewer)).json()
            assert listed["total"] == SCANS and sorted(s["id"] for s in listed["items"]) == sorted(ids)  # none duplicated
            metrics = client.get("/metrics").text
            assert f'provenance_scan_jobs{{status="done"}} {float(SCANS)}' in metrics
            assert client.get("/v1/works", headers=key(holder["key"])).json()["total"] == 1
    finally:
        server.stop()
        if extra_worker is not None:
            extra_worker.stop()

"""Scans: 202 + Location, ?wait, status and report in the SCAN schema of `provenance scan --json`,
listing, the HTML report with its evidence, failures with reasons, metrics."""
from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from provenance.cli import cli
from tests.api_helpers import ApiEnv, api, api_settings, image_bytes, running_api, video_bytes, wait_for_scan  # noqa: F401

VOLATILE = {"timings", "elapsed_s"}  # measured times differ from run to run


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_scan_report_is_the_cli_scan_schema(api: ApiEnv, tmp_path: Path, monkeypatch) -> None:
    c = api.client
    work = video_bytes(tmp_path, 4.0, seed=7)
    assert api.register("alice", work, "original.mp4", title="Original", opt_out="no_train").status_code == 201
    query = tmp_path / "query.mp4"
    query.write_bytes(work)
    r = c.post("/v1/scans", files={"file": ("query.mp4", work)}, headers=api.h("reviewer"))
    assert r.status_code == 202, r.text
    scan_id = r.json()["id"]
    assert r.headers["location"] == f"/v1/scans/{scan_id}" and r.json()["status"] in ("queued", "running", "done")
    done = wait_for_scan(c, scan_id, api.h("reviewer"))
    assert done["status"] == "done" and done["attempts"] == 1 and done["verdict"] == "match"
    report = done["report"]
    assert report["matches"][0]["title"] == "Original" and report["matches"][0]["opt_out"] == {"train": True, "generate": False}
    assert report["matches"][0]["segments"] and report["kind"] == "video"
    # the same file through the CLI against the same store: the same SCAN document
    cli_env = {"PROVENANCE_HOME": str(api.settings.home), "PROVENANCE_CLIP_ENABLED": "false", "PROVENANCE_SIGNALS": "pdq,phash"}
    if api.settings.database_url:
        cli_env["PROVENANCE_DATABASE_URL"] = api.settings.database_url
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(cli, ["scan", "--json", "query.mp4"], env=cli_env)
    assert out.exit_code == 0, out.output
    cli_report = json.loads(out.stdout)["scans"][0]
    assert set(report) == set(cli_report)
    assert _stable(report) == _stable(cli_report)
    assert set(report["timings"]) == set(cli_report["timings"])


def test_wait_list_and_html_report(api: ApiEnv) -> None:
    c = api.client
    jpeg = image_bytes(40)
    api.register("alice", jpeg, "w.jpg", title="Evidence <b>work</b>")
    done = api.scan("reviewer", jpeg, "q.jpg", wait=30, top=3)
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert done.headers["location"] == f"/v1/scans/{done.json()['id']}"
    other = api.scan("reviewer", image_bytes(41), "other.jpg", wait=30).json()
    assert other["report"]["verdict"] == "no_match"

    listed = c.get("/v1/scans", headers=api.h("reviewer")).json()
    assert listed["total"] == 2 and [s["id"] for s in listed["items"]] == [other["id"], done.json()["id"]]
    assert all(s["report"] is None for s in listed["items"])  # reports on request only
    with_reports = c.get("/v1/scans?with_reports=true&verdict=match", headers=api.h("reviewer")).json()
    assert with_reports["total"] == 1 and with_reports["items"][0]["report"]["verdict"] == "match"
    assert c.get("/v1/scans?status=queued", headers=api.h("reviewer")).json()["total"] == 0
    assert c.get("/v1/scans?limit=1&offset=1", headers=api.h("reviewer")).json()["items"][0]["id"] == done.json()["id"]

    html = c.get(f"/v1/scans/{done.json()['id']}/report.html", headers=api.h("reviewer"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Evidence &lt;b&gt;work&lt;/b&gt;" in html.text and "<b>work</b>" not in html.text  # escaped
    images = re.findall(r'<img src="data:image/jpeg;base64,[^"]+" alt="(query|reference) frame"', html.text)
    assert "query" in images and "reference" in images  # both sides of the evidence are shown
    assert "default-src 'none'" in html.headers["content-security-policy"]


def test_scans_survive_in_the_queue_and_fail_with_a_reason(tmp_path: Path) -> None:
    settings = api_settings(tmp_path / "home", None)
    with running_api(settings, run_worker=False) as api:
        queued = api.scan("reviewer", image_bytes(50), "a.jpg", wait=0.3)
        assert queued.status_code == 202 and queued.json()["status"] == "queued"
        r = api.client.get(f"/v1/scans/{queued.json()['id']}/report.html", headers=api.h("reviewer"))
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_ready" and "queued" in r.json()["error"]["message"]
        lost = api.scan("reviewer", image_bytes(51), "b.jpg").json()
        api.service.blobs.delete(lost["sha256"])  # the upload vanishes from the blob store
        metrics = api.client.get("/metrics").text
        assert 'provenance_scan_jobs{status="queued"} 2.0' in metrics
        api.service.start_worker()
        ok = wait_for_scan(api.client, queued.json()["id"], api.h("reviewer"))
        failed = wait_for_scan(api.client, lost["id"], api.h("reviewer"))
        assert ok["status"] == "done"
        assert failed["status"] == "failed" and failed["error"]["code"] == "upload_missing"
        assert failed["error"]["message"] == "b.jpg: the uploaded file is gone from the blob store"
        metrics = api.client.get("/metrics").text
        for line in ('provenance_scan_jobs{status="done"} 1.0', 'provenance_scan_jobs{status="failed"} 1.0',
                     'provenance_scans_total{status="done"} 1.0', "provenance_scan_latency_seconds_count 1.0",
                     'provenance_http_requests_total{method="POST",route="/v1/scans",status="202"} 2.0'):
            assert line in metrics, line
        ready = api.client.get("/readyz").json()
        assert ready == {"status": "ready", "checks": {"store": "ok", "indexes": "loaded", "worker": "running"}}
        assert api.client.get("/healthz").json() == {"status": "ok"}


def test_wait_is_capped_and_validated(api: ApiEnv) -> None:
    r = api.client.post("/v1/scans?wait=-1", files={"file": ("a.jpg", image_bytes(1))}, headers=api.h("reviewer"))
    assert r.status_code == 422 and "wait" in r.json()["error"]["message"]
    r = api.client.post("/v1/scans", files={"file": ("a.jpg", image_bytes(1))}, data={"top": "0"}, headers=api.h("reviewer"))
    assert r.status_code == 422 and "top" in r.json()["error"]["message"]
    r = api.client.post("/v1/scans", data={"top": "3"}, headers=api.h("reviewer"))
    assert r.status_code == 422 and "file" in r.json()["error"]["message"]

"""Bad input: every case answers with the right status and a clear message, and leaves nothing behind
(no row, no blob, no index entry). Run against both upload endpoints, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.api_helpers import ApiEnv, api_settings, image_bytes, png_header_only, running_api, stored_state, video_bytes
from tests.media_factory import audio_only_mp4

MAX_BYTES = 200_000
MAX_SECONDS = 4.0


@pytest.fixture
def limited(tmp_path: Path, database_url: str) -> Iterator[ApiEnv]:
    settings = api_settings(tmp_path / "home", database_url, max_file_bytes=MAX_BYTES, max_duration_s=MAX_SECONDS)
    with running_api(settings) as env:
        yield env


def _noise_jpeg(side: int = 560) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _faststart(data: bytes, folder: Path) -> bytes:
    """Remux with the index (moov) first, so a cut file still opens and only its length gives it away."""
    source, target = folder / "plain.mp4", folder / "faststart.mp4"
    source.write_bytes(data)
    with av.open(str(source)) as reader, av.open(str(target), "w", options={"movflags": "faststart"}) as writer:
        stream = writer.add_stream_from_template(reader.streams.video[0])
        for packet in reader.demux(reader.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                writer.mux(packet)
    return target.read_bytes()


def _cases(folder: Path) -> list[tuple[str, str, bytes, int, str, str]]:
    """(case, file name, bytes, status, error code, message fragment)"""
    jpeg = image_bytes(1)
    short = video_bytes(folder, 1.5, seed=2)
    long = video_bytes(folder, 5.0, seed=3)  # over the 4 s limit
    fast = _faststart(video_bytes(folder, 3.8, seed=4), folder)
    assert len(short) < MAX_BYTES and len(long) < MAX_BYTES and len(fast) < MAX_BYTES
    return [
        ("oversize", "big.jpg", _noise_jpeg(), 413, "upload_too_large", f"exceeds the limit of {MAX_BYTES:,} bytes"),
        ("oversize body", "huge.jpg", b"\xff\xd8\xff" + bytes(1_300_000), 413, "upload_too_large", "exceeds the upload limit"),
        ("zero bytes", "empty.jpg", b"", 422, "corrupt_media", "empty.jpg: the file is empty (0 bytes)"),
        ("wrong type", "photo.jpg", b"#!/bin/sh\necho this is a script, not a photo\n" * 4, 422, "unsupported_media",
         "photo.jpg: not a supported image"),
        ("truncated jpeg", "cut.jpg", jpeg[: len(jpeg) // 3], 422, "corrupt_media", "cut.jpg: the JPEG data is damaged or truncated"),
        ("truncated mp4", "cut.mp4", short[: len(short) // 2], 422, "corrupt_media", "cut.mp4: cannot read the MP4 container"),
        ("truncated faststart mp4", "cut-fast.mp4", fast[: len(fast) * 2 // 5], 422, "corrupt_media", "cut-fast.mp4: truncated"),
        ("decompression bomb", "bomb.png", png_header_only(100_000, 100_000), 422, "media_too_large",
         "bomb.png: refused as a decompression bomb"),
        ("too many pixels", "wide.png", png_header_only(9_000, 9_000), 422, "media_too_large", "exceeds the limit of 50,000,000 pixels"),
        ("too long", "long.mp4", long, 422, "media_too_large", "long.mp4: 5 s of video exceeds the limit of 4 s"),
        ("audio is not video", "tone.mp4", _audio_only(folder), 422, "unsupported_media", "tone.mp4: the MP4 file has no video stream"),
    ]


def _audio_only(folder: Path) -> bytes:
    return audio_only_mp4(folder / "tone.mp4").read_bytes()


@pytest.mark.parametrize("endpoint", ["/v1/works", "/v1/scans"])
def test_bad_uploads_are_refused_and_leave_nothing_behind(limited: ApiEnv, endpoint: str, tmp_path: Path) -> None:
    who = "alice" if endpoint == "/v1/works" else "reviewer"
    home = str(limited.settings.home.resolve())
    before = stored_state(limited.service)
    for case, name, data, status, code, message in _cases(tmp_path):
        r = limited.client.post(endpoint, files={"file": (name, data, "image/jpeg")}, headers=limited.h(who))
        assert r.status_code == status, (case, r.text)
        error = r.json()["error"]
        assert error["code"] == code, (case, error)
        assert message in error["message"], (case, error)
        assert home not in error["message"] and "upload-" not in error["message"], (case, error)  # no server paths
        assert stored_state(limited.service) == before, case
    assert limited.client.get("/v1/scans", headers=limited.h("reviewer")).json()["total"] == 0


@pytest.mark.parametrize("endpoint", ["/v1/works", "/v1/scans"])
def test_hostile_file_names_never_reach_the_file_system(limited: ApiEnv, endpoint: str, tmp_path: Path) -> None:
    who = "alice" if endpoint == "/v1/works" else "reviewer"
    names = {
        "../../etc/passwd": "passwd",
        "..\\..\\windows\\win.ini": "win.ini",
        "evil\x00.jpg": "evil_.jpg",
        "a" * 1000 + ".jpg": "a" * 200,  # longer than any file system allows a name to be
        "/": "upload",
        "..": "upload",
    }
    for seed, (raw, shown) in enumerate(names.items()):
        # a hand-made multipart body: the name's bytes reach the server as they are (httpx would escape a NUL)
        boundary = "hostile-boundary-7f3a"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{raw}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n").encode() + image_bytes(100 + seed) + f"\r\n--{boundary}--\r\n".encode()
        headers = {**limited.h(who), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        r = limited.client.post(endpoint + "?wait=20", content=body, headers=headers)
        assert r.status_code in (200, 201), (raw[:40], r.text)
        body = r.json()
        assert body["source_name"] == shown, raw[:40]
        if endpoint == "/v1/scans":
            assert body["status"] == "done" and body["report"]["path"] == shown
    # a name so long that the multipart parser refuses the request: 400, nothing stored
    before = stored_state(limited.service)
    r = limited.client.post(endpoint, files={"file": ("b" * 20_000 + ".jpg", image_bytes(99))}, headers=limited.h(who))
    assert r.status_code in (400, 200, 201), r.text
    if r.status_code == 400:
        assert r.json()["error"] == {"code": "bad_request", "message": "Invalid multipart data."}
        assert stored_state(limited.service) == before
    else:
        assert r.json()["source_name"] == "b" * 200
    blobs = limited.service.blobs
    for path in blobs.files():  # only content addresses under blobs/ab/cd/
        assert len(path.name) == 64 and path.parent.parent.parent == blobs.root, path
    assert not any(blobs.tmp.iterdir())
    assert sorted(p.name for p in limited.settings.home.iterdir()) == sorted(
        n for n in ("blobs", "provenance.db", "provenance.db-wal", "provenance.db-shm", "worker.lock")
        if (limited.settings.home / n).exists()
    )
    assert not (tmp_path / "etc").exists() and not Path("/etc/passwd.jpg").exists()


def test_a_file_that_fails_only_when_fully_decoded_fails_its_scan_with_the_reason(limited: ApiEnv, tmp_path: Path) -> None:
    """Damage in the middle of a stream passes the upload checks; the scan then fails, saying why."""
    data = bytearray(_faststart(video_bytes(tmp_path, 3.0, seed=5, fps=24), tmp_path))
    middle = len(data) // 2
    data[middle : middle + 3000] = np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    r = limited.client.post("/v1/scans?wait=20", files={"file": ("damaged.mp4", bytes(data))}, headers=limited.h("reviewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "failed" and body["report"] is None
    assert body["error"]["code"] == "corrupt_media" and body["error"]["message"].startswith("damaged.mp4: the video data is damaged")
    assert str(limited.settings.home) not in body["error"]["message"]
    html = limited.client.get(f"/v1/scans/{body['id']}/report.html", headers=limited.h("reviewer"))
    assert html.status_code == 409 and "failed" in html.json()["error"]["message"]

"""Cross-request batching: one CLIP model per process, frames of concurrent scans share forward passes.

A real open_clip model (tiny, random weights saved to a checkpoint by the test) goes through the real
loading path; production loads real weights from PROVENANCE_CLIP_PRETRAINED.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from api.batching import BatchingEmbedder
from api.config import ServiceConfig
from provenance.embedder import ClipConfig, ClipEmbedder
from tests.api_helpers import api_settings, image_bytes, running_api, video_bytes, wait_for_scan
from tests.clip_checkpoint import make_checkpoint


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> tuple[str, Path]:
    return make_checkpoint(tmp_path_factory.mktemp("clip"))


def _frames(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (90, 120, 3), dtype=np.uint8) for _ in range(n)]


def test_batched_embeddings_equal_unbatched_ones_and_requests_share_batches(tiny_clip) -> None:
    name, checkpoint = tiny_clip
    config = ClipConfig(name, str(checkpoint), "cpu", 16)
    reference = ClipEmbedder(config).embed(_frames(40))
    batcher = BatchingEmbedder(config, max_batch=16, max_wait_s=0.2)
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(8)

    def caller(i: int) -> None:
        with batcher.expecting():  # as a worker announces each scan it runs
            start.wait()
            results[i] = batcher.embed(_frames(40)[i * 5 : (i + 1) * 5])

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    combined = np.concatenate([results[i] for i in range(8)])
    np.testing.assert_allclose(combined, reference, atol=1e-5)
    stats = batcher.stats
    assert stats.frames == 40 and stats.requests == 8 and stats.pending_frames == 0
    assert stats.sizes == {16: 2, 8: 1}  # 8 requests of 5 frames in batches of up to 16
    # one request bigger than a batch is split, and comes back whole and in order
    np.testing.assert_allclose(batcher.embed(_frames(40)), reference, atol=1e-5)
    plain = ClipEmbedder(config)
    plain.load()
    assert batcher.model_id == plain.model_id  # the batch size is no part of the model's identity: stored vectors stay comparable
    batcher.close()


def test_a_lone_scan_does_not_wait_for_company(tiny_clip) -> None:
    name, checkpoint = tiny_clip
    batcher = BatchingEmbedder(ClipConfig(name, str(checkpoint), "cpu", 8), max_batch=8, max_wait_s=5.0)
    batcher.embed(_frames(1))  # loads the model
    started = time.perf_counter()
    with batcher.expecting():
        batcher.embed(_frames(2))
    batcher.embed(_frames(2))  # unannounced callers (registration) do not wait either
    assert time.perf_counter() - started < 2.0  # far below max_wait: nobody else was expected
    batcher.close()


def test_a_failing_batch_fails_its_callers_only(tiny_clip) -> None:
    name, checkpoint = tiny_clip
    batcher = BatchingEmbedder(ClipConfig(name, str(checkpoint), "cpu", 8), max_batch=8, max_wait_s=0.0)
    batcher.load()
    real_model = batcher._model

    class Broken:
        def encode_image(self, batch):
            raise RuntimeError("out of memory (simulated)")

    batcher._model = Broken()
    with pytest.raises(RuntimeError, match="simulated"):
        batcher.embed(_frames(3))
    batcher._model = real_model
    assert batcher.embed(_frames(3)).shape == (3, batcher.dimension)
    batcher.close()


def test_eight_concurrent_scans_finish_and_batch_across_requests(tiny_clip, tmp_path: Path) -> None:
    name, checkpoint = tiny_clip
    settings = replace(
        api_settings(tmp_path / "home", None), clip_enabled=True, clip_model=name, clip_pretrained=str(checkpoint),
        signals=("pdq", "phash", "clip"), device="cpu",
    )
    config = ServiceConfig(worker_threads=8, job_poll_s=0.1, batch_max_size=32, batch_max_wait_ms=100.0)
    with running_api(settings, config, run_worker=False) as api:
        assert api.register("alice", image_bytes(70), "w.jpg").status_code == 201
        uploads = [image_bytes(70)] + [image_bytes(71 + i) for i in range(3)] + [video_bytes(tmp_path, 3.0, seed=80 + i) for i in range(4)]
        ids = [api.scan("reviewer", data, f"q{i}.{'jpg' if i < 4 else 'mp4'}").json()["id"] for i, data in enumerate(uploads)]
        frames_before = api.service.batcher.stats.frames
        batches_before = api.service.batcher.stats.batches
        api.service.start_worker()  # all eight are waiting: the eight threads take them at once
        scans = [wait_for_scan(api.client, scan_id, api.h("reviewer")) for scan_id in ids]
        assert [s["status"] for s in scans] == ["done"] * 8, [s.get("error") for s in scans]
        assert all(s["report"]["signals"]["clip"]["status"] == "available" for s in scans)
        assert scans[0]["report"]["verdict"] == "match"
        stats = api.service.batcher.stats
        frames = stats.frames - frames_before
        batches = stats.batches - batches_before
        assert frames == sum(s["report"]["frames_sampled"] for s in scans)
        print(f"{frames} frames of 8 concurrent scans in {batches} batches: {stats.sizes}")
        assert batches < 8 and frames / batches > 2  # frames of different scans went through the model together
        metrics = api.client.get("/metrics").text
        assert f"provenance_frames_embedded_total {float(stats.frames)}" in metrics
        assert "provenance_embed_batch_size_bucket" in metrics

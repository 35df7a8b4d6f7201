"""The accuracy benchmark: its metrics, its seeded transforms, and ``provenance bench
--quick`` end to end on generated media (JSON, markdown and PNG written)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from provenance.bench import metrics, transforms
from provenance.bench.synthetic import picture, scene_video
from provenance.cli import cli


# -- metrics ------------------------------------------------------------------------------
def test_micro_ap_pools_all_queries() -> None:
    truth = {("q1", 1), ("q2", 2)}
    perfect = [("q1", 1, 0.9), ("q2", 2, 0.8), ("q1", 3, 0.1)]
    assert metrics.micro_ap(perfect, truth) == pytest.approx(1.0)
    # a false pair ranked above the second true one: AP = (1/1 + 2/3) / 2
    mixed = [("q1", 1, 0.9), ("q3", 5, 0.85), ("q2", 2, 0.8)]
    assert metrics.micro_ap(mixed, truth) == pytest.approx((1 + 2 / 3) / 2)
    # a positive never predicted caps recall
    assert metrics.micro_ap([("q1", 1, 0.9)], truth) == pytest.approx(0.5)


def test_recall_at_precision_and_threshold() -> None:
    truth = {(f"q{i}", i) for i in range(10)}
    predictions = [(f"q{i}", i, 1.0 - i / 20) for i in range(10)] + [("n", 99, 0.7)]
    recall, threshold = metrics.recall_at_precision(predictions, truth, 0.99)
    assert recall == pytest.approx(0.6) and threshold == pytest.approx(0.75)
    recall, _ = metrics.recall_at_precision(predictions, truth, 0.9)
    assert recall == pytest.approx(1.0)
    assert metrics.recall_at_threshold(predictions, truth, 0.75) == pytest.approx(0.6)


def test_interval_iou_and_zero_event_bound() -> None:
    assert metrics.interval_iou((0, 4), (2, 6)) == pytest.approx(2 / 6)
    assert metrics.interval_iou((0, 1), (2, 3)) == 0.0
    assert metrics.upper_bound_zero_events(300) == pytest.approx(3 / 300, rel=0.05)


# -- transforms ---------------------------------------------------------------------------
@pytest.mark.parametrize("transform", transforms.IMAGE_TRANSFORMS, ids=lambda t: t.name)
def test_transforms_are_seeded_and_return_pictures(transform: transforms.ImageTransform) -> None:
    source = picture(7, (400, 300))
    first, params = transform.apply(source, np.random.default_rng(3))
    second, _ = transform.apply(source, np.random.default_rng(3))
    assert first.mode == "RGB" and min(first.size) >= 40
    assert np.array_equal(np.asarray(first), np.asarray(second))
    assert isinstance(params, dict)


# -- the command --------------------------------------------------------------------------
def test_bench_quick_end_to_end(tmp_path: Path) -> None:
    references, negatives, out = tmp_path / "works", tmp_path / "others", tmp_path / "out"
    (references / "images").mkdir(parents=True)
    (references / "videos").mkdir()
    negatives.mkdir()
    for seed in (1, 2, 3):
        picture(seed, (640, 480)).save(references / "images" / f"work{seed}.png")
    scene_video(references / "videos" / "clip.mp4", seed=21, seconds=6.0, size=(640, 360), fps=12.0)
    for seed in (31, 32, 33, 34):
        picture(seed, (640, 480)).convert("RGB").save(negatives / f"other{seed}.jpg", quality=90)

    result = CliRunner().invoke(cli, ["bench", str(references), "--negatives", str(negatives), "--quick", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output + str(result.exception)
    data = json.loads((out / "bench.json").read_text())
    images = data["images"]
    assert set(images) == {"provenance", "pdq_only", "phash_only"}
    ours = images["provenance"]
    assert ours["positives"] == 3 * len(transforms.QUICK_TRANSFORMS)
    assert ours["micro_ap"] >= 0.9 and ours["recall_at_p99"] >= 0.85
    assert ours["verdicts"]["negative_queries_with_match"] == 0
    assert ours["micro_ap"] > images["pdq_only"]["micro_ap"]
    assert {"crop", "padding", "flip", "screenshot"} <= set(ours["per_family"])
    videos = data["videos"]
    assert videos["positive_clips"] >= 3 and videos["detected"] == videos["positive_clips"]
    assert videos["negative_clips_with_match"] == 0
    assert data["calibration"]["table"] and not data["errors"]
    chart = Image.open(out / "bench.png")
    assert chart.size[0] > 600
    assert "micro-AP" in (out / "bench.md").read_text()
    assert "micro-AP" in result.output

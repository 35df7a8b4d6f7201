"""Video matching end to end: a sped-up copy, a few seconds of a work inside unrelated
footage, a mirrored copy, and a camera panning over a registered still, all found and
localised in time. Clips are procedural (``provenance.bench.synthetic``), 640x360."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from provenance.bench.synthetic import picture, scene_video
from provenance.bench.video import ClipWriter, pan_frames, read_frames
from tests.media_factory import matching_runtime

FPS = 12.0
SIZE = (640, 360)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("matching-video")
    runtime = matching_runtime(root)
    video = scene_video(root / "work.mp4", seed=11, seconds=10.0, size=SIZE, fps=FPS, shots=2)
    still = root / "still.png"
    picture(12, (1000, 750)).save(still)
    ids = {
        "video": runtime.registrar.register(video, "Studio").work.id,
        "still": runtime.registrar.register(still, "Studio").work.id,
        "other": runtime.registrar.register(scene_video(root / "other.mp4", seed=13, seconds=6.0, size=SIZE, fps=FPS), "Studio").work.id,
    }
    frames = [rgb for _, rgb in read_frames(video)]
    yield {"runtime": runtime, "root": root, "ids": ids, "frames": frames, "still": still}
    runtime.close()


def filler(seed: int, seconds: float) -> list[np.ndarray]:
    frames, _ = pan_frames(np.asarray(picture(seed, (1200, 900))), seconds, FPS, np.random.default_rng(seed), SIZE)
    return frames


def write(path: Path, frames: list[np.ndarray]) -> Path:
    with ClipWriter(path, SIZE, FPS) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def top_match(world: dict, path: Path):
    result = world["runtime"].scanner.scan_file(path, top=5)
    assert result.matches, "nothing found"
    return result, result.matches[0]


def test_sped_up_copy_is_aligned_with_its_speed(world: dict) -> None:
    source, speed, start = world["frames"], 1.5, 1.0
    count = int((len(source) / FPS - start - 0.5) / speed * FPS)
    frames = [source[min(len(source) - 1, int(round((start + speed * i / FPS) * FPS)))] for i in range(count)]
    result, top = top_match(world, write(world["root"] / "speed.mp4", frames))
    assert top.work_id == world["ids"]["video"] and top.verdict == "match"
    alignment = top.evidence["alignment"][0]
    assert alignment["speed"] == pytest.approx(speed, abs=0.15)
    segment = top.segments[0]
    duration = count / FPS
    assert segment.query_start == pytest.approx(0.0, abs=1.0) and segment.query_end == pytest.approx(duration, abs=1.0)
    assert segment.ref_start == pytest.approx(start, abs=1.0)
    assert segment.ref_end == pytest.approx(start + speed * duration, abs=1.0)


def test_short_copy_inside_unrelated_footage_is_localised(world: dict) -> None:
    before, after = filler(201, 5.0), filler(202, 6.0)
    copy_start, copy_seconds = 2.0, 3.5
    first = int(copy_start * FPS)
    copied = world["frames"][first : first + int(copy_seconds * FPS)]
    result, top = top_match(world, write(world["root"] / "compilation.mp4", before + copied + after))
    assert top.work_id == world["ids"]["video"] and top.verdict == "match"
    segment = top.segments[0]
    true_start = len(before) / FPS
    assert segment.query_start == pytest.approx(true_start, abs=1.0)
    assert segment.query_end == pytest.approx(true_start + copy_seconds, abs=1.0)
    assert segment.ref_start == pytest.approx(copy_start, abs=1.0)
    assert segment.ref_end == pytest.approx(copy_start + copy_seconds, abs=1.0)
    assert all(m.verdict != "match" for m in result.matches[1:])


def test_mirrored_copy_matches(world: dict) -> None:
    frames = [np.ascontiguousarray(f[:, ::-1]) for f in world["frames"][: int(5 * FPS)]]
    _, top = top_match(world, write(world["root"] / "flip.mp4", frames))
    assert top.work_id == world["ids"]["video"] and top.verdict == "match"
    assert top.segments[0].ref_start == pytest.approx(0.0, abs=1.0)


def test_pan_over_registered_still_matches_the_still(world: dict) -> None:
    frames, _ = pan_frames(np.asarray(picture(12, (1000, 750))), 5.0, FPS, np.random.default_rng(5), SIZE)
    result, top = top_match(world, write(world["root"] / "pan.mp4", frames))
    assert top.work_id == world["ids"]["still"] and top.verdict == "match"
    segment = top.segments[0]
    assert segment.query_start == pytest.approx(0.0, abs=0.5) and segment.query_end == pytest.approx(5.0, abs=1.0)
    assert top.evidence["geometry"]["frames_verified"] >= 3


def test_unrelated_footage_is_not_matched(world: dict) -> None:
    result = world["runtime"].scanner.scan_file(write(world["root"] / "unrelated.mp4", filler(301, 4.0) + filler(302, 4.0)), top=5)
    assert result.verdict == "no_match", [(m.title, m.score, m.evidence["channels"]) for m in result.matches]

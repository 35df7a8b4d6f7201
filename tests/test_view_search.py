"""Dense placement of a frame inside a still (``provenance.matching.view_search``): pans
and crops over smooth drawings, which have too few corners for local features."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from provenance.bench.video import ClipWriter, pan_frames
from provenance.matching import matcher as matcher_module
from provenance.matching import scoring
from provenance.matching.verify import Verification
from provenance.matching.view_search import find_view
from tests.media_factory import matching_runtime

FPS = 12.0
SIZE = (640, 360)


def smooth_drawing(seed: int, size: tuple[int, int] = (760, 820)) -> np.ndarray:
    """Clip-art style: a few large shapes with flat or softly shaded fills and thick
    outlines on white: almost no corners."""
    rng = np.random.default_rng(seed)
    w, h = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        rx, ry = rng.uniform(0.15, 0.35) * w, rng.uniform(0.15, 0.35) * h
        colour = tuple(int(c) for c in rng.integers(60, 240, 3))
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour, outline="black", width=int(rng.integers(6, 14)))
    shading = np.linspace(0.85, 1.0, h)[:, None, None] * np.linspace(0.9, 1.0, w)[None, :, None]
    return (np.asarray(image).astype(np.float32) * shading).astype(np.uint8)


def gray_frame(rgb: np.ndarray, side: int = 512) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, (side, round(side * gray.shape[0] / gray.shape[1])), interpolation=cv2.INTER_AREA)


def reference_of(rgb: np.ndarray, side: int = 384) -> np.ndarray:
    """The store's view of a still: a 384-px JPEG, grey."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = side / max(gray.shape)
    small = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])[1], cv2.IMREAD_GRAYSCALE)


def window(rgb: np.ndarray, x: float, y: float, share: float, size=(1280, 720)) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A 16:9 window ``share`` of the picture's width at (x, y) (fractions), enlarged to ``size``."""
    h, w = rgb.shape[:2]
    ww = share * w
    wh = ww * size[1] / size[0]
    x0, y0 = x * w, y * h
    crop = rgb[int(y0) : int(y0 + wh), int(x0) : int(x0 + ww)]
    return cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR), (x0 / w, y0 / h, (x0 + ww) / w, (y0 + wh) / h)


def test_window_of_a_smooth_drawing_is_placed_where_it_is() -> None:
    drawing = smooth_drawing(1)
    frame, truth = window(drawing, 0.25, 0.3, 0.55)
    reference = reference_of(drawing)
    found = find_view(gray_frame(frame), reference)
    assert found is not None
    rh, rw = reference.shape
    box = (found.box[0] / rw, found.box[1] / rh, found.box[2] / rw, found.box[3] / rh)
    assert box == pytest.approx(truth, abs=0.03)
    assert found.share == pytest.approx(0.55, rel=0.05)
    assert scoring.view_score(found.ncc, found.edge_ncc, found.runner_up) > 0.4
    region = found.region
    assert region[0] == pytest.approx([truth[0], truth[1]], abs=0.03)


def test_window_of_another_drawing_scores_nothing() -> None:
    frame, _ = window(smooth_drawing(2), 0.2, 0.25, 0.6)
    found = find_view(gray_frame(frame), reference_of(smooth_drawing(1)))
    score = 0.0 if found is None else scoring.view_score(found.ncc, found.edge_ncc, found.runner_up)
    assert score < 0.1, found


def test_flat_frame_is_not_placed() -> None:
    flat = np.full((288, 512), 128, np.uint8)
    assert find_view(flat, reference_of(smooth_drawing(1))) is None


def test_single_view_channel_stays_below_match() -> None:
    # a dense placement alone is `similar` evidence: a clip needs several frames placed
    assert scoring.view_score(1.0, 1.0, 0.0) < scoring.MATCH_THRESHOLD
    assert scoring.view_score(1.0, 1.0, 0.0) >= scoring.SIMILAR_THRESHOLD


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("view-search")
    runtime = matching_runtime(root)
    ids = {}
    for seed in (1, 3, 4):
        path = root / f"drawing-{seed}.png"
        Image.fromarray(smooth_drawing(seed)).save(path)
        ids[seed] = runtime.registrar.register(path, "Studio").work.id
    yield {"runtime": runtime, "root": root, "ids": ids}
    runtime.close()


@pytest.fixture
def blind_local_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local-feature verification finds nothing, as on a drawing without corners: only
    the dense search can place the frames."""
    monkeypatch.setattr(matcher_module, "verify", lambda *args, **kwargs: Verification(reason="blinded for the test"))


def pan_clip(path: Path, drawing: np.ndarray, seed: int) -> Path:
    frames, _ = pan_frames(drawing, 5.0, FPS, np.random.default_rng(seed), SIZE)
    with ClipWriter(path, SIZE, FPS) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def test_pan_over_a_smooth_still_is_found_by_dense_placement(world: dict, blind_local_features: None) -> None:
    result = world["runtime"].scanner.scan_file(pan_clip(world["root"] / "pan.mp4", smooth_drawing(1), 7), top=5)
    top = result.matches[0]
    assert top.work_id == world["ids"][1] and top.verdict == "match", [(m.title, m.score, m.evidence["channels"]) for m in result.matches]
    assert top.evidence["view"]["frames_placed"] >= 3
    assert top.evidence["view"]["region"] is not None
    segment = top.segments[0]
    assert segment.query_start == pytest.approx(0.0, abs=0.5) and segment.query_end == pytest.approx(5.0, abs=1.0)
    assert all(m.verdict == "no_match" for m in result.matches[1:])


def test_pan_over_an_unregistered_smooth_drawing_is_not_matched(world: dict, blind_local_features: None) -> None:
    result = world["runtime"].scanner.scan_file(pan_clip(world["root"] / "other.mp4", smooth_drawing(2), 8), top=5)
    assert result.verdict == "no_match", [(m.title, m.score, m.evidence["channels"]) for m in result.matches]

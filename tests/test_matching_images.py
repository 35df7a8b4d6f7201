"""Image matching end to end: registered pictures are found through crops, padding,
mirroring, screenshots and rotation; unrelated pictures are not accused.

Pictures are procedural (``provenance.bench.synthetic``), so nothing is downloaded;
CLIP is disabled: the hash signals and local-feature verification must do it alone.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from provenance.bench import transforms
from provenance.bench.synthetic import picture
from provenance.report.html import render_html
from tests.media_factory import matching_runtime

WORK_SEEDS = (1, 2, 3, 4, 5)
UNRELATED_SEEDS = (101, 102, 103)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("matching-images")
    runtime = matching_runtime(root)
    works = {}
    for seed in WORK_SEEDS:
        path = root / f"work-{seed}.png"
        picture(seed).save(path)
        works[seed] = runtime.registrar.register(path, "Studio").work.id
    yield {"runtime": runtime, "root": root, "works": works}
    runtime.close()


def scan(world: dict, image: Image.Image, name: str):
    path = world["root"] / f"{name}.jpg"
    image.convert("RGB").save(path, quality=90)
    return world["runtime"].scanner.scan_file(path, top=5)


def edit(name: str, seed: int) -> Image.Image:
    transform = transforms.by_name([name])[0]
    edited, _ = transform.apply(picture(seed), np.random.default_rng(seed))
    return edited


@pytest.mark.parametrize("name", ["crop_offcentre", "crop_centre", "pad", "letterbox", "flip", "screenshot", "rotate", "perspective", "combination"])
@pytest.mark.parametrize("seed", [2, 4])
def test_edited_copy_matches_its_work_first(world: dict, name: str, seed: int) -> None:
    result = scan(world, edit(name, seed), f"{name}-{seed}")
    assert result.matches, f"{name}: nothing found"
    top = result.matches[0]
    assert top.work_id == world["works"][seed], f"{name}: wrong work first ({top.title})"
    assert top.verdict == "match", f"{name}: verdict {top.verdict} (score {top.score}, evidence {top.evidence['channels']})"
    assert result.verdict == "match"
    others = [m for m in result.matches[1:] if m.verdict == "match"]
    assert not others, f"{name}: other works also matched: {[m.title for m in others]}"


@pytest.mark.parametrize("seed", UNRELATED_SEEDS)
def test_unrelated_pictures_are_not_matched(world: dict, seed: int) -> None:
    plain = scan(world, picture(seed), f"unrelated-{seed}")
    padded = scan(world, edit("pad", seed), f"unrelated-pad-{seed}")
    for result in (plain, padded):
        assert all(m.verdict == "no_match" for m in result.matches), [(m.title, m.score, m.evidence["channels"]) for m in result.matches]
        assert result.verdict == "no_match"


def test_crop_reports_the_matched_region(world: dict) -> None:
    original = picture(3)
    box = (0.35, 0.25, 0.95, 0.85)  # x0, y0, x1, y1 as fractions
    w, h = original.size
    crop = original.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    result = scan(world, crop, "region")
    top = result.matches[0]
    assert top.work_id == world["works"][3] and top.verdict == "match"
    regions = [p.region for p in top.frame_pairs if p.region]
    assert regions, "no verified region"
    xs, ys = [x for x, _ in regions[0]], [y for _, y in regions[0]]
    assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx(box, abs=0.04)
    geometry = top.evidence["geometry"]
    assert geometry["best_inliers"] >= 20 and geometry["ncc"] > 0.6
    html = render_html([result], store=world["runtime"].store)
    assert "<polygon points=" in html and "inliers" in html


def test_registration_stores_derived_views_but_counts_frames(world: dict) -> None:
    runtime = world["runtime"]
    work_id = world["works"][1]
    variants = sorted(frame.variant for frame in runtime.store.frames_of_work(work_id))
    assert variants == ["crop-c65", "crop-c80", "flip", "full"]
    assert runtime.store.frame_counts([work_id]) == {work_id: 1}


def test_padded_picture_hashes_match_through_border_removal(world: dict) -> None:
    result = scan(world, edit("pad", 5), "pad-hash")
    top = result.matches[0]
    assert top.work_id == world["works"][5]
    # with the borders removed the global hashes line up again: no local features needed
    assert top.evidence["channels"]["pdq"] > 0.5 or top.evidence["channels"]["phash"] > 0.5

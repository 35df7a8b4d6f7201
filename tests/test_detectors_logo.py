"""Visible logos: a registered template overlaid (moving, semi-transparent) is found;
clean clips are not flagged; the logo store validates what admins upload."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from provenance.detectors.calibration import decode_video_frames
from provenance.detectors.visible_logo import VisibleLogoDetector
from reference_db.logos import LogoError, add_logo, list_logos, remove_logo
from reference_db.models import Base
from tests.detector_fixtures import Logo, frames_sample, make_logo_png, overlay_logo, require_media, textured_rgb

ACME = make_logo_png("ACME")
ZETA = make_logo_png("ZETA TV")


@pytest.fixture(scope="module")
def detector() -> VisibleLogoDetector:
    return VisibleLogoDetector([Logo("acme", ACME), Logo("zeta", ZETA)], max_frames=12)


def video_frames(name: str, every: int = 8, limit: int = 12) -> list[np.ndarray]:
    media = require_media()
    frames, _, _ = decode_video_frames(media / "works" / "videos" / name, every=every, limit=limit)
    return [f.rgb for f in frames]


def test_moving_semi_transparent_logo_is_found_with_frames_and_positions(detector) -> None:
    frames = video_frames("bigbuckbunny.mp4")
    truth = [(60 + 30 * i, 40 + 14 * i) for i in range(len(frames))]  # drifts right and down
    marked = [overlay_logo(f, ACME, x, y, 320, opacity=0.5) for f, (x, y) in zip(frames, truth)]
    signal = detector.detect(frames_sample(marked))
    assert signal.status == "detected", signal.evidence
    found = signal.evidence["found"][0]
    assert found["logo"] == "acme"
    assert found["frames_matched"] >= signal.evidence["frames_required"]
    for match in found["matches"]:
        x, y, w, h = match["box"]
        tx, ty = truth[match["frame"]]
        assert abs(x - tx) <= 24 and abs(y - ty) <= 24, (match, (tx, ty))
        assert 250 <= w <= 400
    assert "acme" in signal.summary and "box" in signal.summary


def test_logo_on_line_art_scenes_is_found(detector) -> None:
    frames = video_frames("synthetic-scene-b.mp4", every=20)
    marked = [overlay_logo(f, ZETA, 80 + 20 * i, 500 - 10 * i, 280, opacity=0.6) for i, f in enumerate(frames)]
    signal = detector.detect(frames_sample(marked))
    assert signal.status == "detected"
    assert signal.evidence["found"][0]["logo"] == "zeta"


@pytest.mark.parametrize("name", ["bigbuckbunny.mp4", "synthetic-scene-a.mp4", "synthetic-scene-b.mp4"])
def test_clean_clips_are_not_flagged(detector, name) -> None:
    signal = detector.detect(frames_sample(video_frames(name, every=10, limit=40)))
    assert signal.status == "not_detected", signal.evidence["found"]


def test_still_image_with_logo(detector) -> None:
    media = require_media()
    rgb = np.asarray(Image.open(media / "works" / "images" / "mate-dune.jpg").convert("RGB"))
    marked = overlay_logo(rgb, ACME, 80, 80, 450, opacity=0.6)
    signal = detector.detect(frames_sample([marked], kind="image"))
    assert signal.status == "detected"
    x, y, w, _ = signal.evidence["found"][0]["matches"][0]["box"]
    assert abs(x - 80) <= 24 and abs(y - 80) <= 24 and 380 <= w <= 540
    assert signal.evidence["frames_required"] == 1 and signal.evidence["threshold"] == detector.still_threshold
    assert detector.detect(frames_sample([rgb], kind="image")).status == "not_detected"


def test_no_templates_is_unavailable() -> None:
    signal = VisibleLogoDetector([]).detect(frames_sample([textured_rgb()]))
    assert signal.status == "unavailable" and "no logo template" in signal.evidence["reason"]


def test_bad_template_is_reported_not_fatal() -> None:
    blank = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(blank, "PNG")
    detector = VisibleLogoDetector([Logo("blank", blank.getvalue()), Logo("acme", ACME)])
    assert "blank" in detector.rejected and [logo.name for logo in detector.logos] == ["acme"]


# -- the store ---------------------------------------------------------------------------
@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def test_logo_store_roundtrip(session) -> None:
    logo = add_logo(session, "acme", ACME)
    assert (logo.width, logo.height) == (260, 96)
    add_logo(session, "zeta", ZETA)
    assert [logo.name for logo in list_logos(session)] == ["acme", "zeta"]
    # the stored rows feed the detector directly
    assert len(VisibleLogoDetector(list_logos(session)).logos) == 2
    remove_logo(session, "acme")
    assert [logo.name for logo in list_logos(session)] == ["zeta"]


def png_of(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"not an image", "not a readable PNG"),
    (png_of(Image.new("RGB", (64, 64), "white"), "JPEG"), "must be a PNG"),
    (png_of(Image.new("RGBA", (8, 8), "white")), "each side"),
    (png_of(Image.new("RGBA", (64, 64), (0, 0, 0, 0))), "fully transparent"),
    (png_of(Image.new("RGBA", (64, 64), (200, 10, 10, 255))), "flat colour"),
])
def test_logo_validation_errors(session, data, message) -> None:
    with pytest.raises(LogoError, match=message):
        add_logo(session, "bad", data)


def test_duplicate_and_missing_names(session) -> None:
    add_logo(session, "acme", ACME)
    with pytest.raises(LogoError, match="already exists"):
        add_logo(session, "acme", ACME)
    with pytest.raises(LogoError, match="no logo named"):
        remove_logo(session, "nope")
    with pytest.raises(LogoError, match="name"):
        add_logo(session, "  ", ACME)

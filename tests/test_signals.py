"""Fingerprint signals: PDQ, pHash and CLIP behave as near-duplicate detectors, and CLIP loads real weights or reports unavailable."""
from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from provenance.embedder import ClipConfig, ClipEmbedder, ClipUnavailable
from provenance.settings import Settings
from provenance.signals import build_signals
from provenance.signals.clip import ClipSignal
from provenance.signals.pdq import PdqSignal
from provenance.signals.phash import PHashSignal
from tests.clip_checkpoint import make_checkpoint
from tests.media_factory import drawn_image


def _jpeg(image: Image.Image, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


@pytest.mark.parametrize("signal", [PdqSignal(), PHashSignal()], ids=lambda s: s.name)
def test_hash_signals_tolerate_reencoding_but_separate_different_pictures(signal) -> None:
    original = drawn_image(1)
    variants = [_jpeg(original, 30), np.asarray(original.resize((320, 240))), np.asarray(original.filter(ImageFilter.GaussianBlur(1.5)))]
    base, *edited = signal.compute([np.asarray(original), *variants])
    other = signal.compute([np.asarray(drawn_image(2))])[0]
    for fingerprint in edited:
        assert signal.distance(base.value, fingerprint.value) <= signal.default_threshold
    assert signal.distance(base.value, other.value) > 2 * signal.default_threshold
    assert len(base.value) * 8 == signal.dimension


def test_pdq_reports_quality_and_dihedral_variants() -> None:
    signal = PdqSignal()
    image = np.asarray(drawn_image(3))
    [fingerprint] = signal.compute([image])
    assert 50 <= fingerprint.quality <= 100
    flat = signal.compute([np.full((200, 200, 3), 128, np.uint8)])[0]
    assert flat.quality < 50
    dihedral = signal.compute_dihedral(image)
    flipped = signal.compute([np.ascontiguousarray(image[:, ::-1])])[0]
    # one of the 8 dihedral hashes stands for the mirrored image, well inside the match threshold
    assert min(signal.distance(d.value, flipped.value) for d in dihedral) <= signal.default_threshold / 2


def test_build_signals_follows_settings() -> None:
    names = [s.name for s in build_signals(Settings(signals=("phash", "pdq"), clip_enabled=False))]
    assert names == ["phash", "pdq"]
    with pytest.raises(ValueError, match="unknown signal"):
        build_signals(Settings(signals=("pdq", "sift9000")))


def test_clip_loads_a_local_checkpoint_and_embeds_in_batches(tmp_path: Path) -> None:
    name, checkpoint = make_checkpoint(tmp_path)
    embedder = ClipEmbedder(ClipConfig(name, str(checkpoint), device="cpu", batch_size=3))
    images = [np.asarray(drawn_image(seed, (200, 150))) for seed in range(7)]
    vectors = embedder.embed(images)
    assert vectors.shape == (7, 64) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.model_id.startswith(f"{name}/file-")
    again = embedder.embed(images[2:3])  # batching must not change a frame's embedding
    assert np.allclose(again[0], vectors[2], atol=1e-4)
    signal = ClipSignal(embedder)
    assert signal.status().available and signal.dimension == 64


def test_different_checkpoints_have_different_model_ids(tmp_path: Path) -> None:
    name, first = make_checkpoint(tmp_path / "a", seed=1)
    _, second = make_checkpoint(tmp_path / "b", model_name=name, seed=2)
    model_ids = set()
    for path in (first, second):
        embedder = ClipEmbedder(ClipConfig(name, str(path), device="cpu"))
        embedder.load()
        model_ids.add(embedder.model_id)
    assert len(model_ids) == 2


def test_clip_is_unavailable_without_weights_and_says_so_once(tmp_path: Path, caplog) -> None:
    embedder = ClipEmbedder(ClipConfig("ViT-B-32", str(tmp_path / "missing.pt"), device="cpu"))
    signal = ClipSignal(embedder)
    with caplog.at_level(logging.WARNING):
        first, second = signal.status(), signal.status()
        with pytest.raises(ClipUnavailable, match="does not exist"):
            embedder.embed([np.zeros((32, 32, 3), np.uint8)])
    assert not first.available and "does not exist" in first.detail and second == first
    assert sum("CLIP signal unavailable" in r.message for r in caplog.records) == 1


def test_corrupt_checkpoint_is_unavailable_not_random(tmp_path: Path) -> None:
    from tests.clip_checkpoint import register_tiny_config

    name = register_tiny_config(tmp_path)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    status = ClipSignal(ClipEmbedder(ClipConfig(name, str(broken), device="cpu"))).status()
    assert not status.available


def test_unknown_pretrained_tag_is_unavailable() -> None:
    status = ClipSignal(ClipEmbedder(ClipConfig("ViT-B-32", "no_such_tag_2026", device="cpu"))).status()
    assert not status.available and "no pretrained tag" in status.detail

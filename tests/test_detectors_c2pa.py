"""C2PA Content Credentials: signed JPEG and MP4 with a chain the tests generate."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from provenance.detectors.c2pa_credentials import C2paDetector
from provenance.detectors.config import DetectorConfig
from provenance.detectors.registry import build_detectors
from tests.detector_fixtures import (
    AI_SOURCE, CertChain, jpeg_bytes, make_cert_chain, mp4_bytes, sample_of, sign_c2pa, textured_rgb, write,
)


@pytest.fixture(scope="module")
def chain() -> CertChain:
    return make_cert_chain("Provenance Test Signer")


@pytest.fixture(scope="module")
def signed_jpeg(chain: CertChain) -> bytes:
    return sign_c2pa(jpeg_bytes(textured_rgb(640, 480)), "image/jpeg", chain)


@pytest.fixture(scope="module")
def signed_mp4(chain: CertChain) -> bytes:
    frames = [np.roll(textured_rgb(320, 240, seed=1), 8 * i, axis=1) for i in range(12)]
    return sign_c2pa(mp4_bytes(frames), "video/mp4", chain)


@pytest.fixture
def anchors(tmp_path: Path, chain: CertChain) -> Path:
    return write(tmp_path, "anchors.pem", chain.root_pem)


def test_offline_settings_never_fetch() -> None:
    settings = C2paDetector().settings()
    assert settings["verify"]["remote_manifest_fetch"] is False
    assert settings["verify"]["ocsp_fetch"] is False
    assert settings["core"]["allowed_network_hosts"] == []


@pytest.mark.parametrize("kind", ["jpeg", "mp4"])
def test_signed_file_is_detected_and_trusted_with_anchor(kind, signed_jpeg, signed_mp4, tmp_path, anchors) -> None:
    data = signed_jpeg if kind == "jpeg" else signed_mp4
    signal = C2paDetector(anchors).detect(sample_of(write(tmp_path, f"signed.{kind}", data), limit=2))
    assert signal.status == "detected", signal.evidence
    ev = signal.evidence
    assert ev["validation_state"] == "Trusted" and ev["trusted"] is True
    assert ev["signer"]["common_name"] == "Provenance Test Signer"
    assert ev["signer"]["issuer"] == "Provenance Tests"
    assert ev["claim_generator"].startswith("Provenance Test Generator")
    assert AI_SOURCE in ev["digital_source_types"]
    assert any(a["action"] == "c2pa.created" for a in ev["actions"])
    assert "Provenance Test Signer" in signal.summary and "trainedAlgorithmicMedia" in signal.summary


def test_without_anchors_valid_but_not_trusted(signed_jpeg, tmp_path) -> None:
    signal = C2paDetector(None).detect(sample_of(write(tmp_path, "s.jpg", signed_jpeg)))
    assert signal.status == "detected"
    assert signal.evidence["validation_state"] == "Valid"
    assert signal.evidence["trusted"] is None
    assert "signingCredential.untrusted" in signal.evidence["failure_codes"]
    assert "no trust anchors configured" in signal.summary


def test_other_anchor_does_not_trust(signed_jpeg, tmp_path) -> None:
    other = write(tmp_path, "other.pem", make_cert_chain("Someone Else").root_pem)
    signal = C2paDetector(other).detect(sample_of(write(tmp_path, "s.jpg", signed_jpeg)))
    assert signal.status == "detected" and signal.evidence["trusted"] is False


def test_trust_anchor_env_reaches_the_detector(signed_jpeg, tmp_path, anchors) -> None:
    config = DetectorConfig.from_env({"PROVENANCE_C2PA_TRUST_ANCHORS": str(anchors)})
    c2pa_detector = build_detectors(None, config=config)[0]
    signal = c2pa_detector.detect(sample_of(write(tmp_path, "s.jpg", signed_jpeg)))
    assert signal.evidence["trusted"] is True


def test_reencoded_jpeg_is_not_detected(signed_jpeg, tmp_path, anchors) -> None:
    rgb = np.asarray(Image.open(io.BytesIO(signed_jpeg)).convert("RGB"))
    signal = C2paDetector(anchors).detect(sample_of(write(tmp_path, "re.jpg", jpeg_bytes(rgb, 85))))
    assert signal.status == "not_detected"
    assert "absence says nothing" in signal.summary


def test_reencoded_mp4_is_not_detected(signed_mp4, tmp_path, anchors) -> None:
    sample = sample_of(write(tmp_path, "s.mp4", signed_mp4))
    reencoded = mp4_bytes([f.rgb for f in sample.frames], crf=28)
    signal = C2paDetector(anchors).detect(sample_of(write(tmp_path, "re.mp4", reencoded)))
    assert signal.status == "not_detected"


def test_tampered_jpeg_is_invalid(signed_jpeg, tmp_path, anchors) -> None:
    data = bytearray(signed_jpeg)
    data[-200] ^= 0xFF  # inside the entropy-coded image data, after the manifest
    signal = C2paDetector(anchors).detect(sample_of(write(tmp_path, "t.jpg", bytes(data))))
    assert signal.status == "invalid", signal.evidence
    assert "assertion.dataHash.mismatch" in signal.evidence["failure_codes"]
    assert signal.evidence["signer"]["common_name"] == "Provenance Test Signer"


def test_tampered_mp4_is_invalid(signed_mp4, tmp_path, anchors) -> None:
    data = bytearray(signed_mp4)
    data[data.find(b"mdat") + 4000] ^= 0xFF
    signal = C2paDetector(anchors).detect(sample_of(write(tmp_path, "t.mp4", bytes(data)), limit=2))
    assert signal.status == "invalid", signal.evidence
    assert any("bmffHash" in code for code in signal.evidence["failure_codes"])


def test_unreadable_manifest_is_invalid(signed_jpeg, tmp_path) -> None:
    # Corrupt the JUMBF box itself (not the image): the store cannot be parsed or fails.
    data = bytearray(signed_jpeg)
    at = data.find(b"c2pa") + 40
    data[at : at + 64] = b"\x00" * 64
    signal = C2paDetector(None).detect(sample_of(write(tmp_path, "j.jpg", bytes(data))))
    assert signal.status == "invalid", signal.evidence


def test_unsupported_format_is_unavailable(tmp_path) -> None:
    frames = [textured_rgb(64, 64, seed=i) for i in range(3)]
    path = write(tmp_path, "clip.mp4", mp4_bytes(frames))
    sample = sample_of(path)
    from dataclasses import replace

    webm = replace(sample, source=replace(sample.source, format="webm"))
    signal = C2paDetector(None).detect(webm)
    assert signal.status == "unavailable" and "webm" in signal.evidence["reason"]


def test_missing_anchor_file_is_unavailable(signed_jpeg, tmp_path) -> None:
    signal = C2paDetector(tmp_path / "nope.pem").detect(sample_of(write(tmp_path, "s.jpg", signed_jpeg)))
    assert signal.status == "unavailable" and "nope.pem" in signal.evidence["reason"]

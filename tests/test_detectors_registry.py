"""The detector registry: one signal per detector, crashes contained, `unavailable` explained."""
from __future__ import annotations

import json
import logging

import pytest

from provenance.detectors.base import ProvenanceSignal
from provenance.detectors.config import DetectorConfig, DetectorConfigError
from provenance.detectors.optional_models import TrustMarkDetector, VideoSealDetector
from provenance.detectors.registry import build_detectors, run_detectors
from provenance.settings import Settings
from tests.detector_fixtures import Logo, jpeg_bytes, make_logo_png, sample_of, textured_rgb, write

STATUSES = {"detected", "not_detected", "invalid", "unavailable"}


class Crashing:
    name = "crashy"
    kind = "invisible_watermark"
    version = "0"

    def detect(self, sample):
        raise RuntimeError("boom")


class WrongType:
    name = "wrong"
    kind = "c2pa"

    def detect(self, sample):
        return {"status": "detected"}


def test_every_detector_reports_once_and_serialises(tmp_path) -> None:
    sample = sample_of(write(tmp_path, "a.jpg", jpeg_bytes(textured_rgb(640, 480))))
    detectors = build_detectors(Settings(), logos=[Logo("acme", make_logo_png())], config=DetectorConfig())
    signals = run_detectors(sample, detectors)
    assert [s.detector for s in signals] == [d.name for d in detectors]
    assert {s.kind for s in signals} == {"c2pa", "declared_metadata", "invisible_watermark", "visible_watermark"}
    for s in signals:
        assert s.status in STATUSES and s.summary and s.version
        assert "elapsed_s" in s.evidence
        json.dumps(s.to_dict())  # the report stores it as JSON
    by_name = {s.detector: s for s in signals}
    assert by_name["c2pa-python"].status == "not_detected"
    assert by_name["trustmark"].status == "unavailable" and by_name["videoseal"].status == "unavailable"


def test_without_logos_the_logo_search_is_unavailable(tmp_path) -> None:
    sample = sample_of(write(tmp_path, "a.jpg", jpeg_bytes(textured_rgb(320, 240))))
    signals = run_detectors(sample, build_detectors(Settings(), config=DetectorConfig()))
    logo = next(s for s in signals if s.kind == "visible_watermark")
    assert logo.status == "unavailable" and "no logo template" in logo.summary


def test_crash_becomes_unavailable_and_is_logged(tmp_path, caplog) -> None:
    sample = sample_of(write(tmp_path, "a.jpg", jpeg_bytes(textured_rgb(320, 240))))
    with caplog.at_level(logging.ERROR):
        signals = run_detectors(sample, [Crashing(), WrongType()])
    assert [s.status for s in signals] == ["unavailable", "unavailable"]
    assert signals[0].evidence["error"] == "RuntimeError: boom"
    assert "ProvenanceSignal" in signals[1].evidence["error"]
    assert "crashy" in caplog.text


@pytest.mark.parametrize("cls,env", [(TrustMarkDetector, "PROVENANCE_TRUSTMARK_WEIGHTS"),
                                     (VideoSealDetector, "PROVENANCE_VIDEOSEAL_WEIGHTS")])
def test_optional_models_explain_why_they_did_not_run(tmp_path, cls, env) -> None:
    sample = sample_of(write(tmp_path, "a.jpg", jpeg_bytes(textured_rgb(320, 240))))
    for weights in (None, tmp_path / "weights"):
        signal = cls(weights).detect(sample)
        assert signal.status == "unavailable"
        reason = signal.evidence["reason"]
        if cls(None).package_version is None:
            assert "not installed" in reason
        else:  # pragma: no cover - only where the package is installed
            assert env in reason


def test_config_from_env() -> None:
    config = DetectorConfig.from_env({
        "PROVENANCE_C2PA_TRUST_ANCHORS": "/etc/anchors.pem",
        "PROVENANCE_WATERMARK_FPR": "1e-5",
        "PROVENANCE_WATERMARK_PAYLOADS": "a=0102030405",
        "PROVENANCE_TRUSTMARK_WEIGHTS": "/models/trustmark",
    })
    assert str(config.c2pa_trust_anchors) == "/etc/anchors.pem"
    assert config.watermark_fpr == 1e-5 and config.watermark_payloads[0].payload == bytes([1, 2, 3, 4, 5])
    assert config.videoseal_weights is None
    assert DetectorConfig.from_env({}) == DetectorConfig()
    with pytest.raises(DetectorConfigError):
        DetectorConfig.from_env({"PROVENANCE_WATERMARK_FPR": "2"})


def test_signal_summary_field_is_kept() -> None:
    s = ProvenanceSignal("c2pa", "x", "1", "not_detected", summary="nothing")
    assert s.to_dict()["summary"] == "nothing"

"""Builds the provenance detectors and runs them, so one failing plugin never sinks a scan.

Usage (scanner, CLI, API)::

    detectors = build_detectors(settings, logos=list_logos(session))
    signals = run_detectors(sample, detectors)
    report["provenance"] = {"signals": [s.to_dict() for s in signals]}

Every detector always yields exactly one signal; one that cannot run says
``unavailable`` and why. Absence of a signal is never evidence of human authorship.
"""
from __future__ import annotations

import logging
import time
from typing import Iterable

from provenance.detectors.base import Detector, ProvenanceSignal
from provenance.detectors.c2pa_credentials import C2paDetector
from provenance.detectors.config import DetectorConfig
from provenance.detectors.declared_metadata import DeclaredMetadataDetector
from provenance.detectors.invisible_watermark import PUBLIC_PAYLOADS, InvisibleWatermarkDetector, payloads_from_config
from provenance.detectors.optional_models import TrustMarkDetector, VideoSealDetector
from provenance.detectors.visible_logo import LogoLike, VisibleLogoDetector
from provenance.media.frames import MediaSample
from provenance.settings import Settings

log = logging.getLogger(__name__)


def build_detectors(
    settings: Settings | None = None,
    logos: Iterable[LogoLike] | None = None,
    config: DetectorConfig | None = None,
) -> list[Detector]:
    """All detectors, in report order. ``settings`` is accepted for symmetry with the
    other pipelines; the detectors' own variables come from ``DetectorConfig``."""
    del settings  # nothing in the global settings concerns the detectors (yet)
    config = config or DetectorConfig.from_env()
    return [
        C2paDetector(config.c2pa_trust_anchors),
        DeclaredMetadataDetector(),
        InvisibleWatermarkDetector(
            PUBLIC_PAYLOADS + payloads_from_config(config.watermark_payloads),
            fpr=config.watermark_fpr,
            max_frames=config.watermark_max_frames,
        ),
        TrustMarkDetector(config.trustmark_weights),
        VideoSealDetector(config.videoseal_weights),
        VisibleLogoDetector(list(logos or []), max_frames=config.logo_max_frames),
    ]


def run_detectors(sample: MediaSample, detectors: list[Detector]) -> list[ProvenanceSignal]:
    """One signal per detector, in order; a crash becomes ``unavailable`` with the error."""
    signals: list[ProvenanceSignal] = []
    for detector in detectors:
        name = getattr(detector, "name", type(detector).__name__)
        kind = getattr(detector, "kind", "unknown")
        started = time.perf_counter()
        try:
            signal = detector.detect(sample)
            if not isinstance(signal, ProvenanceSignal):
                raise TypeError(f"detect() returned {type(signal).__name__}, not ProvenanceSignal")
        except Exception as exc:  # a plugin bug must not lose the other signals
            log.exception("provenance detector %s failed on %s", name, sample.source.sha256[:12])
            signal = ProvenanceSignal(
                kind=kind,
                detector=name,
                version=str(getattr(detector, "version", "unknown")),
                status="unavailable",
                evidence={"reason": "detector crashed", "error": f"{type(exc).__name__}: {exc}"},
                summary=f"The {name} check crashed and reported nothing ({type(exc).__name__}).",
            )
        signal.evidence.setdefault("elapsed_s", round(time.perf_counter() - started, 4))
        signals.append(signal)
    return signals

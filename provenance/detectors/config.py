"""Settings of the provenance detectors, read from the environment in one place.

``provenance.settings.Settings`` is owned elsewhere; the detectors keep their own
few variables here so that adding a detector never touches the global settings.

=====================================  ===================================================
``PROVENANCE_C2PA_TRUST_ANCHORS``      path to a PEM bundle of C2PA trust anchors (roots);
                                       without it a valid manifest is "valid, untrusted"
``PROVENANCE_WATERMARK_PAYLOADS``      extra invisible-watermark payloads to look for:
                                       ``name=hexbytes[:method],...`` (method ``dwtDct``
                                       by default, or ``dwtDctSvd``)
``PROVENANCE_WATERMARK_FPR``           target false-positive rate per clip of the
                                       invisible-watermark detector (default 1e-6)
``PROVENANCE_WATERMARK_MAX_FRAMES``    frames decoded per clip (default 8, evenly spaced)
``PROVENANCE_LOGO_MAX_FRAMES``         frames searched for logos per clip (default 12)
``PROVENANCE_TRUSTMARK_WEIGHTS``       local TrustMark weights (folder); optional plugin
``PROVENANCE_VIDEOSEAL_WEIGHTS``       local VideoSeal checkpoint; optional plugin
=====================================  ===================================================
"""
from __future__ import annotations

import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from provenance.detectors.dwtdct import METHODS


class DetectorConfigError(ValueError):
    """A detector environment variable has a value we cannot use."""


@dataclass(frozen=True)
class PayloadSpec:
    """An invisible-watermark payload an operator asked us to look for."""

    name: str
    payload: bytes
    method: str = "dwtDct"


@dataclass(frozen=True)
class DetectorConfig:
    c2pa_trust_anchors: Path | None = None
    watermark_payloads: tuple[PayloadSpec, ...] = ()
    watermark_fpr: float = 1e-6
    watermark_max_frames: int = 8
    logo_max_frames: int = 12
    trustmark_weights: Path | None = None
    videoseal_weights: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "DetectorConfig":
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(f"PROVENANCE_{name}", "").strip()
            return value or None

        def path(name: str) -> Path | None:
            value = get(name)
            return Path(value).expanduser() if value else None

        fpr = float(get("WATERMARK_FPR") or 1e-6)
        if not 0.0 < fpr < 1.0:
            raise DetectorConfigError(f"PROVENANCE_WATERMARK_FPR must be in (0, 1), got {fpr}")
        return cls(
            c2pa_trust_anchors=path("C2PA_TRUST_ANCHORS"),
            watermark_payloads=parse_payloads(get("WATERMARK_PAYLOADS") or ""),
            watermark_fpr=fpr,
            watermark_max_frames=max(1, int(get("WATERMARK_MAX_FRAMES") or 8)),
            logo_max_frames=max(1, int(get("LOGO_MAX_FRAMES") or 12)),
            trustmark_weights=path("TRUSTMARK_WEIGHTS"),
            videoseal_weights=path("VIDEOSEAL_WEIGHTS"),
        )


def parse_payloads(text: str) -> tuple[PayloadSpec, ...]:
    """Parse ``name=hexbytes[:method],...``; errors name the offending entry."""
    specs: list[PayloadSpec] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        name, sep, rest = entry.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise DetectorConfigError(f"watermark payload {entry!r}: expected name=hexbytes[:method]")
        hexpart, _, method = rest.strip().partition(":")
        method = method.strip() or "dwtDct"
        if method not in METHODS:
            raise DetectorConfigError(f"watermark payload {name!r}: method {method!r} not one of {METHODS}")
        try:
            payload = binascii.unhexlify(hexpart.strip().removeprefix("0x"))
        except (binascii.Error, ValueError) as exc:
            raise DetectorConfigError(f"watermark payload {name!r}: {hexpart!r} is not hex bytes") from exc
        if not 2 <= len(payload) <= 64:
            # under 16 bits no frame can reach a useful false-positive rate
            raise DetectorConfigError(f"watermark payload {name!r}: needs 2..64 bytes, got {len(payload)}")
        specs.append(PayloadSpec(name.strip(), payload, method))
    return tuple(specs)

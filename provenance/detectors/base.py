"""The provenance detector plugin contract.

A detector looks at one upload, both its original bytes (C2PA manifests and metadata
live there and vanish on decoding) and its sampled frames (watermarks live in pixels),
and reports one signal. Absence of a signal is never evidence of human authorship:
``not_detected`` means only "this detector found nothing".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from provenance.media.frames import MediaSample

SignalStatus = Literal["detected", "not_detected", "invalid", "unavailable"]


@dataclass
class ProvenanceSignal:
    kind: str  # "c2pa", "declared_metadata", "invisible_watermark", "visible_watermark"
    detector: str  # plugin name, e.g. "c2pa-python", "dwtdct"
    version: str  # detector / library version
    status: SignalStatus
    evidence: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable details
    fpr: float | None = None  # measured/configured false-positive rate of a `detected`, if known
    summary: str = ""  # one line for people

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Detector(Protocol):
    name: str
    kind: str

    def detect(self, sample: MediaSample) -> ProvenanceSignal:
        """Inspect ``sample`` (``sample.source.read_bytes()`` for the original bytes)."""
        ...

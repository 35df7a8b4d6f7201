"""The scan output contract. Other tools parse it: add fields freely, never rename.

SCAN  = {path, kind, duration, verdict, matches: [MATCH], provenance: {signals}, timings}
MATCH = {work_id, title, holder, score, verdict, segments: [SEGMENT], evidence}
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["match", "similar", "no_match"]


@dataclass
class Segment:
    query_start: float
    query_end: float
    ref_start: float  # 0/0 when the reference is a still image
    ref_end: float
    score: float


@dataclass
class FramePair:
    """One query frame and the reference frame it matched, with per-signal distances."""

    query_index: int
    query_time: float
    ref_frame_id: int
    ref_time: float
    distances: dict[str, float]
    score: float
    region: list[list[float]] | None = None  # matched quadrilateral in the reference, if verified


@dataclass
class Match:
    work_id: int
    title: str
    holder: str
    score: float
    verdict: Verdict
    segments: list[Segment]
    evidence: dict[str, Any]
    kind: str = "image"
    opt_out: dict[str, bool] = field(default_factory=dict)
    frame_pairs: list[FramePair] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        pairs = data.pop("frame_pairs")
        data["evidence"] = {**self.evidence, "frame_pairs": pairs}
        return data


@dataclass
class ScanResult:
    path: str
    kind: str
    duration: float
    verdict: Verdict
    matches: list[Match]
    provenance_signals: list[dict[str, Any]]
    timings: dict[str, float]
    sha256: str = ""
    width: int = 0
    height: int = 0
    frames_sampled: int = 0
    signals: dict[str, dict[str, Any]] = field(default_factory=dict)  # fingerprint signal availability
    thresholds: dict[str, float] = field(default_factory=dict)
    # query frames as JPEG for the HTML report (not part of the JSON)
    query_thumbnails: dict[int, bytes] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "duration": self.duration,
            "verdict": self.verdict,
            "matches": [m.to_dict() for m in self.matches],
            "provenance": {
                "signals": self.provenance_signals,
                "note": "Absence of a provenance signal is not evidence of human authorship.",
            },
            "timings": self.timings,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "frames_sampled": self.frames_sampled,
            "signals": self.signals,
            "thresholds": self.thresholds,
        }


@dataclass
class ScanError:
    """A file that could not be scanned, listed beside the scans (nothing was stored)."""

    path: str
    error: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

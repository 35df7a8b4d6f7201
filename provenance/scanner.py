"""Scan one upload: sample it, fingerprint it, match it, check its provenance, report."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provenance.fingerprint import Fingerprinter, jpeg_thumbnail
from provenance.matching.matcher import Matcher
from provenance.media import load_media
from provenance.media.frames import MediaSample
from provenance.report.schema import ScanResult
from provenance.settings import Settings

ProvenanceCheck = Callable[[MediaSample], list[dict[str, Any]]]


class Scanner:
    def __init__(
        self,
        settings: Settings,
        fingerprinter: Fingerprinter,
        matcher: Matcher,
        provenance_check: ProvenanceCheck | None = None,
    ) -> None:
        self.settings = settings
        self.fingerprinter = fingerprinter
        self.matcher = matcher
        self.provenance_check = provenance_check

    def scan_file(self, path: Path | str, top: int = 5, display_path: str | None = None) -> ScanResult:
        started = time.perf_counter()
        sample = load_media(path, self.settings)
        decoded = time.perf_counter()
        result = self.scan_sample(sample, top=top, display_path=display_path)
        result.timings = {"decode": round(decoded - started, 4), **result.timings}
        result.timings["total"] = round(time.perf_counter() - started, 4)
        return result

    def scan_sample(self, sample: MediaSample, top: int = 5, display_path: str | None = None) -> ScanResult:
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round(now - clock, 4)
            clock = now

        fingerprints = self.fingerprinter.fingerprint([frame.rgb for frame in sample.frames])
        lap("fingerprint")
        self.matcher.searcher.refresh()
        matches = self.matcher.match(sample, fingerprints, top)
        lap("match")
        signals = self.provenance_check(sample) if self.provenance_check else []
        lap("provenance")
        verdict = matches[0].verdict if matches else "no_match"
        evidence_frames = {pair.query_index for match in matches for pair in match.frame_pairs}
        thresholds = self.matcher.config.thresholds
        return ScanResult(
            path=display_path or str(sample.source.path),
            kind=sample.kind,
            duration=sample.duration,
            verdict=verdict,
            matches=matches,
            provenance_signals=signals,
            timings=timings,
            sha256=sample.source.sha256,
            width=sample.width,
            height=sample.height,
            frames_sampled=len(sample.frames),
            signals={
                name: {"status": "available" if s.available else "unavailable", "detail": s.detail}
                for name, s in self.fingerprinter.statuses().items()
            },
            thresholds={"match": thresholds.match, "similar": thresholds.similar},
            query_thumbnails={i: jpeg_thumbnail(sample.frames[i].rgb, 320)[0] for i in sorted(evidence_frames)},
        )

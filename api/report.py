"""Render a stored scan report as the readable HTML page, with its evidence frames."""
from __future__ import annotations

from typing import Any

from api.blobs import BlobStore
from provenance.report.html import render_html
from provenance.report.schema import FramePair, Match, ScanResult, Segment
from reference_db.store import Store


def scan_result_from_dict(data: dict[str, Any]) -> ScanResult:
    """The inverse of ``ScanResult.to_dict`` (query thumbnails aside)."""
    matches = []
    for m in data.get("matches", []):
        evidence = dict(m.get("evidence") or {})
        pairs = [FramePair(**p) for p in evidence.pop("frame_pairs", [])]
        matches.append(
            Match(
                work_id=m["work_id"], title=m["title"], holder=m["holder"], score=m["score"], verdict=m["verdict"],
                segments=[Segment(**s) for s in m.get("segments", [])], evidence=evidence, kind=m.get("kind", "image"),
                opt_out=m.get("opt_out", {}), frame_pairs=pairs,
            )
        )
    return ScanResult(
        path=data["path"], kind=data["kind"], duration=data["duration"], verdict=data["verdict"], matches=matches,
        provenance_signals=(data.get("provenance") or {}).get("signals", []), timings=data.get("timings", {}),
        sha256=data.get("sha256", ""), width=data.get("width", 0), height=data.get("height", 0),
        frames_sampled=data.get("frames_sampled", 0), signals=data.get("signals", {}), thresholds=data.get("thresholds", {}),
    )


def render_scan_html(report: dict[str, Any], evidence: dict[str, str] | None, blobs: BlobStore, store: Store) -> str:
    result = scan_result_from_dict(report)
    for index, sha256 in (evidence or {}).items():
        jpeg = blobs.read(sha256)
        if jpeg is not None:
            result.query_thumbnails[int(index)] = jpeg
    return render_html([result], [], store, title=f"Provenance scan report: {result.path}")

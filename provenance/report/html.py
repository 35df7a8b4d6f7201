"""A self-contained HTML report (thumbnails inlined) that a reviewer can read and archive."""
from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from provenance.report.schema import ScanError, ScanResult
from reference_db.store import Store

_TEMPLATES = Path(__file__).parent / "templates"
_environment = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))


def _data_uri(jpeg: bytes | None) -> str | None:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode() if jpeg else None


def _seconds(value: float) -> str:
    minutes, seconds = divmod(max(0.0, value), 60)
    return f"{int(minutes)}:{seconds:05.2f}"


def _reference_images(store: Store | None, scans: list[ScanResult]) -> dict[int, str]:
    if store is None:
        return {}
    frame_ids = {p.ref_frame_id for scan in scans for m in scan.matches for p in m.frame_pairs}
    images = store.frame_images(sorted(frame_ids)) if frame_ids else {}
    return {frame_id: _data_uri(image.jpeg) for frame_id, image in images.items()}


def render_html(
    scans: list[ScanResult], errors: list[ScanError] | None = None, store: Store | None = None, title: str = "Provenance scan report"
) -> str:
    """Render scans; ``store`` supplies the reference frame thumbnails for the evidence."""
    _environment.filters["seconds"] = _seconds
    template = _environment.get_template("report.html")
    views: list[dict[str, Any]] = []
    for scan in scans:
        views.append(
            {
                "scan": scan,
                "data": scan.to_dict(),
                "query_images": {i: _data_uri(jpeg) for i, jpeg in scan.query_thumbnails.items()},
            }
        )
    return template.render(
        title=title,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        views=views,
        errors=errors or [],
        reference_images=_reference_images(store, scans),
        summary={
            verdict: sum(1 for s in scans if s.verdict == verdict) for verdict in ("match", "similar", "no_match")
        },
        escape=html.escape,
    )


def write_html(path: Path, scans: list[ScanResult], errors: list[ScanError] | None = None, store: Store | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(scans, errors, store), encoding="utf-8")
    return path

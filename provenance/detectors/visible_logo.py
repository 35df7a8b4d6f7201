"""Visible watermarks and logos registered by an admin (table ``logo_templates``).

Overlaid logos are often semi-transparent and move, so we do not match pixel values.
Frames and templates become *edge orientation fields*: at every pixel the gradient
direction as a doubled-angle unit vector (a light-on-dark and a dark-on-light edge
look the same) times an edge confidence that saturates, so strong background texture
cannot outvote the logo. The template keeps only its own edge pixels, found on the
logo composited over mid-grey with its alpha channel (the alpha is the mask: pixels
the logo does not cover never count), and is made zero-mean so uniformly oriented
texture scores zero. The score at a position is the mean agreement over the
template's edge pixels (about 0 on unrelated content, up to 1 when all logo edges are
present), minus a share of the edge clutter in the rest of the logo's box, so that
dense line art or text does not pass for a logo. A logo at opacity ``a`` still shows its edges at contrast ``a`` x (logo -
background), which the saturating confidence keeps near full weight.

Frames are downscaled (longest side 768) and searched at a geometric ladder of logo
widths with three FFT correlations each. A clip is ``detected`` when at least ``k`` of
the searched frames match the same template above the per-frame threshold at a
consistent scale (positions may move); a still image needs one frame above a
stricter threshold. Thresholds sit above the highest score measured on clean frames
(``scripts/bench_watermarks.py``; numbers in ``docs/provenance.md``).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field as dc_field
from typing import Any, Iterable, Protocol

import cv2
import numpy as np
from PIL import Image

from provenance.detectors.base import ProvenanceSignal
from provenance.detectors.invisible_watermark import evenly_spaced
from provenance.media.frames import MediaSample

FRAME_SIDE = 768  # frames are searched at this longest side
MIN_LOGO_WIDTH = 46  # px in the downscaled frame; smaller logos cannot be told from texture
MAX_LOGO_FRACTION = 0.6  # of the frame width
SCALE_STEP = 1.12  # ratio between successive logo widths searched
# Per-frame thresholds on the orientation agreement. Set above the highest score
# measured on clean frames (see docs/provenance.md).
FRAME_THRESHOLD = 0.48
STILL_THRESHOLD = 0.52
MIN_TEMPLATE_EDGE_PIXELS = 150  # a template with less structure cannot be told from texture
EDGE_CONTRAST = 24.0  # Sobel magnitude (grey levels) at which an edge counts fully
CLUTTER_WEIGHT = 0.25  # how much edge clutter inside the logo's box counts against a match
TEMPLATE_EDGE_FRACTION = 0.15  # template pixels with this share of its strongest edge are "edges"


class LogoLike(Protocol):
    name: str
    png: bytes


@dataclass(eq=False)
class PreparedLogo:
    name: str
    gray: np.ndarray  # H x W float32, the logo composited on mid-grey
    alpha: np.ndarray  # H x W float32 in [0, 1]
    aspect: float  # height / width
    templates: dict = dc_field(default_factory=dict)  # width -> (template, edge count), cached


def orientation_field(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge orientation as doubled-angle unit vectors times an edge confidence in [0, 1].

    Doubling the angle makes a light-on-dark edge and a dark-on-light edge of the same
    direction identical, and the confidence saturates at EDGE_CONTRAST so strong
    background texture cannot outvote the logo's own edges.
    """
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    mag2 = gx * gx + gy * gy
    inv = 1.0 / (mag2 + 1e-6)
    conf = np.minimum(np.sqrt(mag2) / EDGE_CONTRAST, 1.0)
    field = np.dstack([(gx * gx - gy * gy) * inv * conf, 2.0 * gx * gy * inv * conf])
    # a little blur tolerates a pixel of misregistration or a slightly wrong scale
    return cv2.GaussianBlur(field, (0, 0), 0.8), np.sqrt(mag2)


def edge_confidence(field: np.ndarray) -> np.ndarray:
    """How much edge there is at each pixel of an orientation field (0..1)."""
    return np.sqrt((field**2).sum(axis=2)).astype(np.float32)


def prepare_logo(name: str, png: bytes) -> PreparedLogo:
    with Image.open(io.BytesIO(png)) as im:
        rgba = np.asarray(im.convert("RGBA")).astype(np.float32)
    alpha = rgba[..., 3] / 255.0
    ys, xs = np.nonzero(alpha > 0.05)
    if ys.size == 0:
        raise ValueError(f"logo {name!r} is fully transparent")
    pad = 3  # keep the outline's outer edge
    y0, x0 = max(0, ys.min() - pad), max(0, xs.min() - pad)
    y1, x1 = min(alpha.shape[0], ys.max() + 1 + pad), min(alpha.shape[1], xs.max() + 1 + pad)
    rgba, alpha = rgba[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
    gray = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2GRAY)
    # Composite on mid-grey: the outline of a light or a dark logo shows as an edge.
    comp = gray * alpha + 128.0 * (1.0 - alpha)
    logo = PreparedLogo(name, comp.astype(np.float32), alpha.astype(np.float32), (y1 - y0) / (x1 - x0))
    if _template(logo, 240)[1] < MIN_TEMPLATE_EDGE_PIXELS:
        raise ValueError(f"logo {name!r} has too little visible structure to be searched for")
    return logo


def _template(logo: PreparedLogo, width: int) -> tuple[np.ndarray, int]:
    """Unit doubled-angle vectors on the logo's edge pixels (zero elsewhere), and their count."""
    if width not in logo.templates:
        logo.templates[width] = _make_template(logo, width)
    return logo.templates[width]


def _make_template(logo: PreparedLogo, width: int) -> tuple[np.ndarray, int]:
    height = max(8, round(width * logo.aspect))
    gray = cv2.resize(logo.gray, (width, height), interpolation=cv2.INTER_AREA)
    field, mag = orientation_field(gray)
    edges = mag >= max(TEMPLATE_EDGE_FRACTION * float(mag.max()), 1e-3)
    norm = np.sqrt((field**2).sum(axis=2)) + 1e-6
    unit = np.where(edges[..., None], field / norm[..., None], 0.0).astype(np.float32)
    if edges.any():  # zero-mean over the edge pixels: uniformly oriented texture scores 0
        unit[edges] -= unit[edges].mean(axis=0)
    return unit, int(edges.sum())


def logo_widths(frame_width: int, frame_height: int, aspect: float) -> list[int]:
    top = min(frame_width * MAX_LOGO_FRACTION, (frame_height * 0.9) / max(aspect, 1e-3))
    widths, w = [], float(MIN_LOGO_WIDTH)
    while w <= top:
        widths.append(int(round(w)))
        w *= SCALE_STEP
    return widths


@dataclass
class FrameMatch:
    frame: int
    timestamp: float
    score: float
    x: int  # top-left, in original frame pixels
    y: int
    width: int  # logo box, in original frame pixels
    height: int
    scale_index: int

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "timestamp": round(self.timestamp, 3), "score": round(self.score, 3),
                "box": [self.x, self.y, self.width, self.height]}


def search_frame(field: np.ndarray, logo: PreparedLogo, factor: float, widths: list[int],
                 conf: np.ndarray | None = None) -> tuple[float, int, int, int, int, int]:
    """Best (score, x, y, w, h, scale index) of ``logo`` in one frame's orientation field.

    agreement = mean, over the template's edge pixels, of the frame's edge confidence
    times cos(2 x angle difference) (template made zero-mean); clutter = mean edge
    confidence of the frame over the rest of the logo's box. score = agreement -
    CLUTTER_WEIGHT x clutter: a region dense with edges of every direction (line art,
    text, foliage) agrees a little with any template, and this takes that back.
    Three FFT correlations per scale.
    """
    fh, fw = field.shape[:2]
    conf = edge_confidence(field) if conf is None else conf
    integral = cv2.integral(conf, sdepth=cv2.CV_64F)  # box sums for every logo size in O(1)
    best = (-1.0, 0, 0, 0, 0, -1)
    for si, width in enumerate(widths):
        templ, count = _template(logo, width)
        th, tw = templ.shape[:2]
        if th >= fh or tw >= fw or count < MIN_TEMPLATE_EDGE_PIXELS:
            continue
        agreement = cv2.matchTemplate(field, templ, cv2.TM_CCORR) / count
        edge_mask = (np.abs(templ).sum(axis=2) > 0).astype(np.float32)
        on_edges = cv2.matchTemplate(conf, edge_mask, cv2.TM_CCORR)
        in_box = (integral[th:, tw:] - integral[:-th, tw:] - integral[th:, :-tw] + integral[:-th, :-tw]).astype(np.float32)
        clutter = (in_box - on_edges) / max(th * tw - count, 1)
        score_map = agreement - CLUTTER_WEIGHT * clutter
        _, score, _, (x, y) = cv2.minMaxLoc(score_map)
        if score > best[0]:
            best = (float(score), round(x / factor), round(y / factor), round(tw / factor), round(th / factor), si)
    return best


class VisibleLogoDetector:
    name = "logo-template"
    kind = "visible_watermark"
    version = f"opencv {cv2.__version__} edge-orientation v2"

    def __init__(self, logos: Iterable[LogoLike] | None = None, max_frames: int = 12,
                 frame_threshold: float = FRAME_THRESHOLD, still_threshold: float = STILL_THRESHOLD):
        self.logos: list[PreparedLogo] = []
        self.rejected: dict[str, str] = {}
        for logo in logos or []:
            try:
                self.logos.append(prepare_logo(logo.name, logo.png))
            except Exception as exc:  # one bad template must not disable the others
                self.rejected[logo.name] = str(exc)
        self.max_frames = max_frames
        self.frame_threshold = frame_threshold
        self.still_threshold = still_threshold

    def detect(self, sample: MediaSample) -> ProvenanceSignal:
        if not self.logos:
            reason = "no logo template is registered" if not self.rejected else \
                f"no usable logo template ({'; '.join(f'{k}: {v}' for k, v in self.rejected.items())})"
            return ProvenanceSignal(self.kind, self.name, self.version, "unavailable", {"reason": reason},
                                    summary=f"Visible logo search could not run: {reason}.")
        picked = [sample.frames[i] for i in evenly_spaced(len(sample.frames), self.max_frames)]
        if not picked:
            return ProvenanceSignal(self.kind, self.name, self.version, "unavailable",
                                    {"reason": "the sample has no frames"},
                                    summary="Visible logo search could not run: no frames.")
        still = sample.kind == "image" or len(picked) == 1
        threshold = self.still_threshold if still else self.frame_threshold
        n = len(picked)
        k = 1 if still else max(2, math.ceil(0.3 * n))

        per_logo: dict[str, list[FrameMatch]] = {logo.name: [] for logo in self.logos}
        best_scores: dict[str, float] = {logo.name: -1.0 for logo in self.logos}
        for frame in picked:
            h, w = frame.rgb.shape[:2]
            factor = min(1.0, FRAME_SIDE / max(h, w))
            small = cv2.resize(frame.rgb, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA) \
                if factor < 1.0 else frame.rgb
            field, _ = orientation_field(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
            conf = edge_confidence(field)
            for logo in self.logos:
                widths = logo_widths(small.shape[1], small.shape[0], logo.aspect)
                score, x, y, bw, bh, si = search_frame(field, logo, factor, widths, conf)
                best_scores[logo.name] = max(best_scores[logo.name], score)
                if score >= threshold:
                    per_logo[logo.name].append(FrameMatch(frame.index, frame.timestamp, score, x, y, bw, bh, si))

        found: list[dict[str, Any]] = []
        for name, matches in per_logo.items():
            consistent = consistent_matches(matches)
            if len(consistent) >= k:
                found.append({
                    "logo": name,
                    "frames_matched": len(consistent),
                    "best_score": round(max(m.score for m in consistent), 3),
                    "matches": [m.to_dict() for m in consistent],
                })
        evidence: dict[str, Any] = {
            "frames_searched": n,
            "frames_required": k,
            "threshold": threshold,
            "templates": [logo.name for logo in self.logos],
            "best_scores": {k_: round(v, 3) for k_, v in best_scores.items()},
            "rejected_templates": self.rejected,
            "found": found,
        }
        if not found:
            return ProvenanceSignal(self.kind, self.name, self.version, "not_detected", evidence,
                                    summary=f"None of {len(self.logos)} registered logo(s) found in {n} frame(s).")
        lead = found[0]
        first = lead["matches"][0]
        return ProvenanceSignal(
            self.kind, self.name, self.version, "detected", evidence,
            summary=f"Registered logo '{lead['logo']}' visible in {lead['frames_matched']}/{n} frame(s), "
                    f"first at t={first['timestamp']}s box {first['box']} (score {lead['best_score']})."
                    + (f" Also: {', '.join(f['logo'] for f in found[1:])}." if len(found) > 1 else ""),
        )


def consistent_matches(matches: list[FrameMatch]) -> list[FrameMatch]:
    """Matches whose scale agrees with the median scale (+-2 ladder steps); positions may move."""
    if len(matches) <= 1:
        return matches
    median = sorted(m.scale_index for m in matches)[len(matches) // 2]
    return [m for m in matches if abs(m.scale_index - median) <= 2]

"""Where a frame sits inside a still: a dense search over scales and placements.

Local features need corners. A camera pan or a tight crop over a smooth drawing (flat
fills, soft gradients, one outline) shows part of a still enlarged, with too few corners
for ORB and no global hash in common with any stored view. Yet every such frame is,
pixel for pixel, a scaled window of the still. Normalised cross-correlation (NCC) of the
frame, shrunk to each candidate scale, against every placement in the still finds that
window; the correlation of the two pictures' gradient magnitudes at the best placement
then confirms it (outlines must fall at the same place, not just the tones agree).

The search runs coarse to fine: all scales over the still at ``COARSE_SIDE`` pixels,
then the best few refined at the stored JPEG's resolution in a small neighbourhood.
It costs about 5 ms per (frame, still), so the matcher runs it only on frames nothing
else explained, against the few stills its short list proposes (see ``Matcher``).

Windows are axis-aligned and unrotated (pans, zooms, crops); rotated or mirrored copies
are the local features' job.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

COARSE_SIDE = 112  # longer side of the reference during the search over every placement
SHARES = np.geomspace(0.3, 1.0, 12)  # frame width as a share of the still's width
MIN_COARSE_TEMPLATE = (12, 8)  # pixels, at the coarse level
COARSE_PEAKS = 2  # best scales refined at full resolution
REFINE_SHARES = np.geomspace(0.92, 1.08, 5)  # around each coarse peak
REFINE_MARGIN = 3  # coarse pixels searched around a peak at full resolution
MIN_DETAIL = 6.0  # grey-level standard deviation below which a frame is too flat to place


@dataclass(frozen=True)
class ViewMatch:
    """The best window of the reference that the frame shows."""

    ncc: float  # grey-level correlation of frame and window (reference resolution)
    edge_ncc: float  # correlation of their gradient magnitudes
    runner_up: float  # best coarse NCC at the same scale away from the window (ridges, repeats)
    share: float  # frame width as a share of the reference's width
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 of the window, reference pixels
    reference_size: tuple[int, int]  # width, height of the reference the box is in

    @property
    def region(self) -> list[list[float]]:
        """The window's corners as fractions of the reference's size (report drawing)."""
        x0, y0, x1, y1 = self.box
        width, height = self.reference_size
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return [[round(x / width, 4), round(y / height, 4)] for x, y in corners]


def _gradient(gray: np.ndarray) -> np.ndarray:
    image = gray.astype(np.float32)
    return cv2.magnitude(cv2.Sobel(image, cv2.CV_32F, 1, 0), cv2.Sobel(image, cv2.CV_32F, 0, 1))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    x = a.astype(np.float64).ravel()
    y = b.astype(np.float64).ravel()
    x, y = x - x.mean(), y - y.mean()
    denominator = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denominator) if denominator > 1e-9 else 0.0


def _template_size(reference_shape: tuple[int, int], share: float, aspect: float) -> tuple[int, int] | None:
    """(width, height) of a window ``share`` of the reference wide with the frame's aspect,
    or None when it does not fit inside the reference."""
    height, width = reference_shape
    w = share * width
    h = w / aspect
    if h > height:
        return None
    return max(1, round(w)), max(1, round(h))


def _runner_up(scores: np.ndarray, location: tuple[int, int], size: tuple[int, int]) -> float:
    """Best score of a placement that overlaps the peak's window by less than half in
    each direction: a frame showing only an edge or a repeating pattern fits many places."""
    masked = scores.copy()
    x, y = location
    dx, dy = max(1, size[0] // 2), max(1, size[1] // 2)
    masked[max(0, y - dy) : y + dy + 1, max(0, x - dx) : x + dx + 1] = -1.0
    return float(masked.max()) if masked.size else -1.0


def _coarse_peaks(query: np.ndarray, reference: np.ndarray) -> tuple[float, list[tuple[float, float, tuple[int, int], float]]]:
    """(scale from reference to coarse, [(ncc, share, coarse location, runner-up)] best first)."""
    height, width = reference.shape
    factor = COARSE_SIDE / max(height, width)
    coarse = cv2.resize(reference, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA)
    aspect = query.shape[1] / query.shape[0]
    peaks = []
    for share in SHARES:
        size = _template_size(coarse.shape, float(share), aspect)
        if size is None or size[0] < MIN_COARSE_TEMPLATE[0] or size[1] < MIN_COARSE_TEMPLATE[1]:
            continue
        template = cv2.resize(query, size, interpolation=cv2.INTER_AREA)
        scores = cv2.matchTemplate(coarse, template, cv2.TM_CCOEFF_NORMED)
        _, value, _, location = cv2.minMaxLoc(scores)
        peaks.append((float(value), float(share), location, _runner_up(scores, location, size)))
    peaks.sort(key=lambda peak: -peak[0])
    return factor, peaks[:COARSE_PEAKS]


def find_view(query_gray: np.ndarray, reference_gray: np.ndarray) -> ViewMatch | None:
    """The window of ``reference_gray`` that ``query_gray`` most likely shows, or None
    when the frame is too flat to place or fits nowhere (8-bit grey images)."""
    if query_gray.size == 0 or reference_gray.size == 0 or float(query_gray.std()) < MIN_DETAIL:
        return None
    height, width = reference_gray.shape
    aspect = query_gray.shape[1] / query_gray.shape[0]
    factor, peaks = _coarse_peaks(query_gray, reference_gray)
    best: tuple[float, float, tuple[int, int, int, int], np.ndarray, float] | None = None
    for _, share, (cx, cy), runner_up in peaks:
        x, y = cx / factor, cy / factor
        margin = REFINE_MARGIN / factor
        for refined in share * REFINE_SHARES:
            size = _template_size((height, width), float(refined), aspect)
            if size is None:
                continue
            x0, y0 = max(0, int(x - margin)), max(0, int(y - margin))
            x1, y1 = min(width, int(x + margin) + size[0]), min(height, int(y + margin) + size[1])
            window = reference_gray[y0:y1, x0:x1]
            if window.shape[0] < size[1] or window.shape[1] < size[0]:
                continue
            template = cv2.resize(query_gray, size, interpolation=cv2.INTER_AREA)
            _, value, _, (lx, ly) = cv2.minMaxLoc(cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED))
            if best is None or value > best[0]:
                placed = (x0 + lx, y0 + ly, size[0], size[1])
                best = (float(value), float(refined), placed, template, runner_up)
    if best is None:
        return None
    value, share, (bx, by, bw, bh), template, runner_up = best
    window = reference_gray[by : by + bh, bx : bx + bw]
    edge = _correlation(_gradient(window), _gradient(template))
    box = (float(bx), float(by), float(bx + bw), float(by + bh))
    return ViewMatch(round(value, 4), round(edge, 4), round(runner_up, 4), round(share, 4), box, (width, height))

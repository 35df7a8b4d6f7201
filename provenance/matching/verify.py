"""Geometric verification of a candidate (query frame, reference frame) pair.

ORB correspondences that pass Lowe's ratio test are fitted with a RANSAC homography.
Unrelated pictures rarely give more than a handful of mutually consistent
correspondences, while a copy (cropped, padded, rotated, seen in perspective or
stretched) keeps tens to hundreds. A homography that passes the inlier count still has
to be plausible (convex outline, bounded scale, no mirror), and the two pictures must
agree once aligned: the query warped into the reference's frame is compared with the
reference by normalised cross-correlation over their overlap. The homography also maps
the query's outline into the reference: the matched region drawn in the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from provenance.matching.keypoints import Features

RATIO = 0.82  # Lowe's ratio test on Hamming distances
MIN_TENTATIVE = 8
REPROJECTION = 0.013  # RANSAC inlier tolerance, as a share of the reference's longer side
MAX_SCALE = 12.0  # linear scale between query and reference, either way
MAX_ANISOTROPY = 3.0  # ratio of the homography's principal stretches at the centre
MIN_SPREAD = 0.03  # inliers' convex hull must cover this share of the part of the reference the query shows
NCC_SIDE = 96  # photometric check resolution (longer side of the reference)


@dataclass
class Verification:
    inliers: int = 0
    tentative: int = 0
    ncc: float = 0.0  # normalised cross-correlation of the aligned pictures over their overlap
    overlap: float = 0.0  # share of the reference covered by the query
    region: list[list[float]] | None = None  # query outline in the reference, as fractions of its size
    homography: np.ndarray | None = field(default=None, repr=False)  # query pixels -> reference pixels
    reason: str = ""  # why verification failed, when it did

    @property
    def ok(self) -> bool:
        return self.homography is not None


def _tentative(query: Features, reference: Features) -> tuple[np.ndarray, np.ndarray]:
    if len(query) < 2 or len(reference) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(query.descriptors, reference.descriptors, k=2)
    best: dict[int, tuple[float, int]] = {}  # reference keypoint -> (distance, query keypoint): one-to-one
    for candidates in pairs:
        if len(candidates) < 2:
            continue
        first, second = candidates
        if first.distance < RATIO * second.distance:
            if first.trainIdx not in best or first.distance < best[first.trainIdx][0]:
                best[first.trainIdx] = (first.distance, first.queryIdx)
    if not best:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    train = np.fromiter(best.keys(), dtype=np.int64)
    query_idx = np.array([best[t][1] for t in train], dtype=np.int64)
    return query.points[query_idx], reference.points[train]


def _convex_quad(quad: np.ndarray) -> bool:
    signs = []
    for i in range(4):
        a, b, c = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        signs.append(np.sign((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])))
    return all(s > 0 for s in signs) or all(s < 0 for s in signs)


def _jacobian(homography: np.ndarray, x: float, y: float) -> np.ndarray:
    h = homography
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w
    v = (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w
    return np.array(
        [[(h[0, 0] - u * h[2, 0]) / w, (h[0, 1] - u * h[2, 1]) / w], [(h[1, 0] - v * h[2, 0]) / w, (h[1, 1] - v * h[2, 1]) / w]]
    )


def _clip_polygon(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """Sutherland–Hodgman clipping of a polygon to the rectangle [0, width] x [0, height]."""
    polygon = [tuple(p) for p in points]
    edges = [
        (lambda p: p[0] >= 0, lambda a, b: _cut(a, b, 0, 0.0)),
        (lambda p: p[0] <= width, lambda a, b: _cut(a, b, 0, width)),
        (lambda p: p[1] >= 0, lambda a, b: _cut(a, b, 1, 0.0)),
        (lambda p: p[1] <= height, lambda a, b: _cut(a, b, 1, height)),
    ]
    for inside, cut in edges:
        if not polygon:
            break
        output = []
        for i, current in enumerate(polygon):
            previous = polygon[i - 1]
            if inside(current):
                if not inside(previous):
                    output.append(cut(previous, current))
                output.append(current)
            elif inside(previous):
                output.append(cut(previous, current))
        polygon = output
    return np.array(polygon, dtype=np.float64).reshape(-1, 2)


def _cut(a, b, axis: int, value: float):
    t = (value - a[axis]) / ((b[axis] - a[axis]) or 1e-12)
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def _ncc(query_gray: np.ndarray, reference_gray: np.ndarray, homography: np.ndarray) -> tuple[float, float]:
    """Correlation of the query warped onto the reference, over the overlap (low resolution)."""
    rh, rw = reference_gray.shape[:2]
    scale = NCC_SIDE / max(rh, rw)
    size = (max(8, round(rw * scale)), max(8, round(rh * scale)))
    reference = cv2.resize(reference_gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    to_small = np.diag([size[0] / rw, size[1] / rh, 1.0])
    warp = to_small @ homography
    # blur the query at its own scale first so the warp does not alias fine texture
    qscale = np.sqrt(abs(np.linalg.det(warp[:2, :2]))) if abs(warp[2, 2]) > 1e-9 else 1.0
    query = query_gray.astype(np.float32)
    if qscale < 0.5:
        sigma = 0.5 / max(qscale, 1e-3)
        query = cv2.GaussianBlur(query, (0, 0), sigma)
    warped = cv2.warpPerspective(query, warp, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-1)
    mask = cv2.warpPerspective(np.ones(query_gray.shape[:2], np.uint8), warp, size, flags=cv2.INTER_NEAREST) > 0
    mask = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    overlap = float(mask.mean())
    if mask.sum() < 64:
        return 0.0, overlap
    reference = cv2.GaussianBlur(reference, (0, 0), 1.0)
    warped = cv2.GaussianBlur(np.where(mask, warped, 0).astype(np.float32), (0, 0), 1.0)
    a, b = warped[mask], reference[mask]
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denominator < 1e-6:
        return 0.0, overlap
    return float((a * b).sum() / denominator), overlap


def verify(
    query: Features,
    reference: Features,
    query_gray: np.ndarray | None = None,
    reference_gray: np.ndarray | None = None,
) -> Verification:
    """Fit a homography from query to reference features and judge it.

    ``query_gray``/``reference_gray`` (the pictures the features were computed on, any
    resolution with the same aspect) enable the photometric check."""
    source, target = _tentative(query, reference)
    result = Verification(tentative=int(len(source)))
    if len(source) < MIN_TENTATIVE:
        result.reason = "too few correspondences"
        return result
    tolerance = REPROJECTION * max(reference.width, reference.height)
    # OpenCV's USAC (graph-cut RANSAC with local optimisation, fixed seed): reproducible,
    # and on hopeless correspondence sets ~100x faster than the classic RANSAC loop
    homography, mask = cv2.findHomography(source, target, cv2.USAC_ACCURATE, tolerance)
    if homography is None or mask is None:
        result.reason = "no homography"
        return result
    inlier_mask = mask.ravel().astype(bool)
    inliers = int(inlier_mask.sum())
    result.inliers = inliers
    qw, qh = query.width, query.height
    corners = np.array([[0, 0], [qw, 0], [qw, qh], [0, qh]], dtype=np.float64)
    projected = cv2.perspectiveTransform(corners[None], homography)[0]
    if not np.all(np.isfinite(projected)) or not _convex_quad(projected):
        # a strongly enlarged part of the reference extrapolates the outline far from the
        # evidence: judge (and draw) the box around the query's inliers instead
        x0, y0 = source[inlier_mask].min(axis=0)
        x1, y1 = source[inlier_mask].max(axis=0)
        box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
        projected = cv2.perspectiveTransform(box[None], homography)[0]
        if not np.all(np.isfinite(projected)) or not _convex_quad(projected):
            result.reason = "degenerate outline"
            return result
    centre = source[inlier_mask].mean(axis=0)
    jacobian = _jacobian(homography, float(centre[0]), float(centre[1]))
    det = float(np.linalg.det(jacobian))
    if det <= 0:
        result.reason = "mirrored homography"
        return result
    stretches = np.linalg.svd(jacobian, compute_uv=False)
    scale = float(np.sqrt(det))
    if not (1 / MAX_SCALE <= scale <= MAX_SCALE) or stretches[0] / max(stretches[1], 1e-9) > MAX_ANISOTROPY:
        result.reason = "implausible scale"
        return result
    clipped = _clip_polygon(projected, reference.width, reference.height)
    seen = cv2.contourArea(clipped.astype(np.float32)) if len(clipped) >= 3 else 0.0
    hull = cv2.convexHull(target[inlier_mask].astype(np.float32))
    if cv2.contourArea(hull) < MIN_SPREAD * max(seen, 0.05 * reference.width * reference.height):
        result.reason = "inliers bunched together"
        return result
    result.homography = homography
    if len(clipped) >= 3:
        result.region = [[round(float(x) / reference.width, 4), round(float(y) / reference.height, 4)] for x, y in clipped]
    if query_gray is not None and reference_gray is not None:
        # features were computed on resized copies: bring the homography to the given pixels
        q_scale = np.diag([query.width / query_gray.shape[1], query.height / query_gray.shape[0], 1.0])
        r_scale = np.diag([reference_gray.shape[1] / reference.width, reference_gray.shape[0] / reference.height, 1.0])
        result.ncc, result.overlap = _ncc(query_gray, reference_gray, r_scale @ homography @ q_scale)
    return result

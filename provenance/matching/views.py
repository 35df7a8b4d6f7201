"""Derived views of a frame: borders removed, crops, mirror image.

Copies of a picture are rarely pixel-aligned with the original: uploads get letterboxed,
padded onto a canvas, shown inside a screenshot, cropped or mirrored. Global hashes
(PDQ, pHash) only survive such edits when both sides are brought back into register,
so the same deterministic views are hashed on both sides:

* query side: the frame as uploaded and the frame with uniform borders removed;
* reference side (stored as extra ``reference_frames`` rows with a ``variant`` name):
  the mirror image (``flip``), the frame with uniform borders removed (``trim``,
  ``flip-trim``) and, for still images, centred crops (``crop-c80``, ``crop-c65``) that
  line up with the most common re-framings. Mirroring is done on the reference side,
  once at registration, because PDQ is sensitive to the resolution it is computed at:
  hashing a mirrored copy at full size at scan time would cost as much as the frame's
  own hash.

Whatever these views miss (off-centre crops, rotation, perspective) is left to the
local-feature retrieval and geometric verification in :mod:`keypoints` and :mod:`verify`.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Border detection runs on a small copy: averaging also suppresses JPEG and sensor noise.
_TRIM_SIDE = 256
_TRIM_TOLERANCE = 18  # max channel difference from the border colour (0..255), after downscaling
_TRIM_FILL = 0.96  # share of a line's pixels that must be border-coloured
_MIN_TRIM = 0.015  # ignore borders thinner than this share of the side
_MIN_CONTENT = 0.04  # never trim to less than this share of the area
TRIM_ROUNDS = 3  # nested borders: a padded picture inside a letterboxed frame, a screenshot's window

# Centred crops stored for still references: (variant name, kept share of each side).
REFERENCE_CROPS: tuple[tuple[str, float], ...] = (("crop-c80", 0.80), ("crop-c65", 0.65))
TRIM = "trim"
FLIP = "flip"
FLIP_TRIM = "flip-trim"


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def crop(self, image: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(image[self.y0 : self.y1, self.x0 : self.x1])


def downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    """Area-averaged downscale so the longer side is at most ``max_side`` (never upscales)."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _uniform_run(lines: np.ndarray, limit: int) -> int:
    """How many leading lines (axis 0) are filled with the colour of the first line."""
    colour = np.median(lines[0], axis=0)
    count = 0
    for line in lines[:limit]:
        close = np.max(np.abs(line.astype(np.int16) - colour), axis=-1) <= _TRIM_TOLERANCE
        if close.mean() < _TRIM_FILL:
            break
        count += 1
    return count


def _trim_once(small: np.ndarray) -> tuple[int, int, int, int]:
    height, width = small.shape[:2]
    top = _uniform_run(small, height // 2)
    bottom = _uniform_run(small[::-1], height // 2)
    columns = small.transpose(1, 0, 2)
    left = _uniform_run(columns, width // 2)
    right = _uniform_run(columns[::-1], width // 2)
    return top, bottom, left, right


def content_box(image: np.ndarray, rounds: int = TRIM_ROUNDS) -> Box | None:
    """The part of ``image`` inside uniform borders (letterbox bars, padding, a plain
    background), or None when there is no border worth removing. ``rounds`` > 1 also
    removes borders nested inside borders (a padded picture in a screenshot); video
    frames use one round, so a moving shot keeps a stable box."""
    height, width = image.shape[:2]
    small = downscale(image, _TRIM_SIDE)
    if small.ndim == 2:
        small = small[:, :, None]
    sh, sw = small.shape[:2]
    y0, y1, x0, x1 = 0, sh, 0, sw
    for _ in range(rounds):
        region = small[y0:y1, x0:x1]
        if region.shape[0] < 8 or region.shape[1] < 8:
            break
        top, bottom, left, right = _trim_once(region)
        if not (top or bottom or left or right):
            break
        y0, y1, x0, x1 = y0 + top, y1 - bottom, x0 + left, x1 - right
    if (y1 - y0) * (x1 - x0) < _MIN_CONTENT * sh * sw or y1 - y0 < 4 or x1 - x0 < 4:
        return None
    if max(y0, sh - y1) < _MIN_TRIM * sh and max(x0, sw - x1) < _MIN_TRIM * sw:
        return None
    sy, sx = height / sh, width / sw
    box = Box(int(round(x0 * sx)), int(round(y0 * sy)), int(round(x1 * sx)), int(round(y1 * sy)))
    return box if box.width >= 8 and box.height >= 8 else None


def trimmed(image: np.ndarray, rounds: int = TRIM_ROUNDS) -> np.ndarray | None:
    box = content_box(image, rounds)
    return None if box is None else box.crop(image)


def centre_crop(image: np.ndarray, keep: float) -> np.ndarray:
    height, width = image.shape[:2]
    ch, cw = max(1, round(height * keep)), max(1, round(width * keep))
    y0, x0 = (height - ch) // 2, (width - cw) // 2
    return np.ascontiguousarray(image[y0 : y0 + ch, x0 : x0 + cw])


def mirrored(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, ::-1])


def is_mirrored(variant: str) -> bool:
    return variant.startswith(FLIP)


def reference_views(image: np.ndarray, still: bool) -> list[tuple[str, np.ndarray]]:
    """Derived views stored next to a reference frame's ``full`` row."""
    views: list[tuple[str, np.ndarray]] = [(FLIP, mirrored(image))]
    inner = trimmed(image, TRIM_ROUNDS if still else 1)
    if inner is not None:
        views.append((TRIM, inner))
        views.append((FLIP_TRIM, mirrored(inner)))
    if still:
        views.extend((name, centre_crop(image, keep)) for name, keep in REFERENCE_CROPS)
    return views

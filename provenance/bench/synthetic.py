"""Procedural pictures and clips: deterministic test media that needs no download.

Each seed gives a distinct picture of overlapping shapes, lines and glyphs on a
gradient, with enough corners for local features and enough low-frequency structure
for perceptual hashes. Used by the test suite and as compilation filler when a
benchmark has no folder of unrelated media.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from provenance.bench.transforms import _font
from provenance.bench.video import ClipWriter


def picture(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    rng = np.random.default_rng([seed, 99])
    w, h = size
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0.0, 1.0, h)[:, None, None]
    background = (top[None, None, :] * (1 - ramp) + bottom[None, None, :] * ramp).repeat(w, axis=1).astype(np.uint8)
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(25, 40))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = rng.uniform(-0.1, 1.0) * w, rng.uniform(-0.1, 1.0) * h
        sw, sh = rng.uniform(0.05, 0.35) * w, rng.uniform(0.05, 0.35) * h
        kind = rng.integers(0, 4)
        if kind == 0:
            draw.ellipse((x, y, x + sw, y + sh), fill=colour, outline=(0, 0, 0), width=2)
        elif kind == 1:
            draw.rectangle((x, y, x + sw, y + sh), fill=colour)
        elif kind == 2:
            points = [(x + rng.uniform(0, sw), y + rng.uniform(0, sh)) for _ in range(int(rng.integers(3, 7)))]
            draw.polygon(points, fill=colour, outline=(20, 20, 20))
        else:
            draw.line((x, y, x + sw, y + sh), fill=colour, width=int(rng.integers(2, 8)))
    font = _font(int(h * 0.06))
    for _ in range(4):
        text = "".join(chr(int(c)) for c in rng.integers(65, 91, 5))
        draw.text((rng.uniform(0, 0.8) * w, rng.uniform(0, 0.9) * h), text, fill=tuple(int(c) for c in rng.integers(0, 256, 3)), font=font)
    return image.filter(ImageFilter.GaussianBlur(0.6))


def scene_video(path: Path, seed: int, seconds: float = 8.0, size: tuple[int, int] = (640, 360), fps: float = 12.0, shots: int = 2) -> Path:
    """Shots of a camera panning across procedural pictures, with hard cuts between."""
    rng = np.random.default_rng([seed, 98])
    frames_total = int(round(seconds * fps))
    per_shot = frames_total // shots
    with ClipWriter(path, size, fps) as writer:
        for shot in range(shots):
            still = np.asarray(picture(seed * 100 + shot, (size[0] * 2, size[1] * 2)))
            # a slow camera move (about 5% of the width per second), as in most footage
            x0 = rng.uniform(0, size[0] * 0.4)
            x1 = x0 + rng.uniform(0.04, 0.06) * size[0] * per_shot / fps
            y0 = y1 = rng.uniform(0, size[1] * 0.5)
            count = per_shot if shot < shots - 1 else frames_total - per_shot * (shots - 1)
            for i in range(count):
                t = i / max(1, count - 1)
                x, y = int(x0 + (x1 - x0) * t), int(y0 + (y1 - y0) * t)
                writer.write(np.ascontiguousarray(still[y : y + size[1] * 1, x : x + size[0]]))
    return path

"""Seeded video queries: edits of registered videos, pans over registered stills, and
compilations that hide a few seconds of a work between unrelated footage.

Clips are decoded and encoded with PyAV (H.264, yuv420p) frame by frame, so memory stays
flat whatever the length. Every function returns the ground truth of the copy it made:
where the copied stretch sits in the query and in the reference.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw

from provenance.bench.transforms import _font

OUTPUT_SIZE = (1280, 720)
SUBCLIP_SECONDS = (3.0, 6.0)
COMPILATION_COPY_SECONDS = (3.0, 5.0)
FILLER_SECONDS = (3.0, 6.0)
SPEEDS = ((0.7, 0.85), (1.25, 1.6))
PAN_SECONDS = (5.0, 8.0)
PAN_WINDOW = (0.55, 0.75)  # camera window, as a share of the largest view of the still with the clip's aspect
LOW_BITRATE = (250_000, 500_000)  # bits per second of the low-bitrate re-encode


@dataclass
class VideoTruth:
    """Where the copy sits: query seconds [query_start, query_end] show reference
    seconds [ref_start, ref_end] (both 0 for a still reference)."""

    query_start: float
    query_end: float
    ref_start: float
    ref_end: float


@dataclass
class VideoQuery:
    path: Path
    transform: str
    params: dict[str, Any] = field(default_factory=dict)
    truth: VideoTruth | None = None  # None: a negative clip


def probe(path: Path) -> tuple[int, int, float, float]:
    """(width, height, fps, duration seconds) of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = (container.duration or 0) / av.time_base
        return stream.codec_context.width, stream.codec_context.height, fps, duration


def read_frames(path: Path, start: float = 0.0, end: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """RGB frames with their times (seconds from the start) in [start, end)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) - origin if frame.pts is not None else 0.0
            if t < start - 1e-6:
                continue
            if end is not None and t >= end - 1e-6:
                break
            yield t, frame.to_ndarray(format="rgb24")


class ClipWriter:
    """H.264 writer; ``bitrate`` None means constant quality (CRF 23)."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, bitrate: int | None = None) -> None:
        self.path = path
        self.size = (size[0] // 2 * 2, size[1] // 2 * 2)
        self.container = av.open(str(path), "w")
        self.stream = self.container.add_stream("libx264", rate=int(round(fps)))
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = "yuv420p"
        options = {"preset": "ultrafast"}
        if bitrate:
            self.stream.bit_rate = bitrate
        else:
            options["crf"] = "23"
        self.stream.options = options
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> "ClipWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fit(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if rgb.shape[1] > size[0] else cv2.INTER_LINEAR)


def _window(duration: float, length: float, rng: np.random.Generator) -> tuple[float, float]:
    length = min(length, duration)
    start = float(rng.uniform(0, max(0.0, duration - length)))
    return start, start + length


# -- footage that is not a registered work ---------------------------------------------
def _load_still(path: Path, max_side: int = 2048) -> np.ndarray:
    with Image.open(path) as image:
        picture = image.convert("RGBA")
        canvas = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        canvas.alpha_composite(picture)
        rgb = canvas.convert("RGB")
        rgb.thumbnail((max_side, max_side))
        return np.asarray(rgb)


def pan_frames(still: np.ndarray, seconds: float, fps: float, rng: np.random.Generator, size=OUTPUT_SIZE) -> tuple[list[np.ndarray], dict]:
    """A camera moving (and slowly zooming) over a still, as in a documentary pan."""
    h, w = still.shape[:2]
    aspect = size[0] / size[1]
    share_a, share_b = rng.uniform(*PAN_WINDOW), rng.uniform(*PAN_WINDOW)

    # the largest view of the still with the output's aspect ratio, then a share of it
    full_w = min(float(w), h * aspect)

    def window(share: float) -> tuple[float, float]:
        ww = share * full_w
        return ww, ww / aspect

    (wa, ha), (wb, hb) = window(share_a), window(share_b)
    xa, ya = rng.uniform(0, w - wa), rng.uniform(0, h - ha)
    xb, yb = rng.uniform(0, w - wb), rng.uniform(0, h - hb)
    count = max(2, int(round(seconds * fps)))
    frames = []
    for i in range(count):
        t = i / (count - 1)
        x, y, ww, wh = xa + (xb - xa) * t, ya + (yb - ya) * t, wa + (wb - wa) * t, ha + (hb - ha) * t
        crop = still[int(y) : int(y + wh), int(x) : int(x + ww)]
        frames.append(_fit(crop, size))
    return frames, {"window_start": round(float(share_a), 3), "window_end": round(float(share_b), 3), "seconds": round(seconds, 2)}


def filler_frames(sources: list[Path], seconds: float, fps: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Unrelated footage: a pan over an unregistered picture, or moving synthetic shapes."""
    if sources:
        still = _load_still(sources[int(rng.integers(len(sources)))])
        return pan_frames(still, seconds, fps, rng)[0]
    frames = []
    base = rng.uniform(0, 255, 3)
    for i in range(int(round(seconds * fps))):
        canvas = Image.new("RGB", OUTPUT_SIZE, tuple(int(c) for c in (base + i) % 255))
        draw = ImageDraw.Draw(canvas)
        for k in range(6):
            x = (k * 210 + i * 7) % OUTPUT_SIZE[0]
            draw.ellipse((x, 100 + 80 * k, x + 120, 220 + 80 * k), fill=tuple(int(c) for c in (base * (k + 2)) % 255))
        frames.append(np.asarray(canvas))
    return frames


# -- edits of a registered video -----------------------------------------------------------
VideoEdit = Callable[[Path, Path, np.random.Generator, list[Path]], VideoQuery]


def reencode(reference: Path, out: Path, rng: np.random.Generator, fillers: list[Path]) -> VideoQuery:
    w, h, fps, duration = probe(reference)
    size = (640, 360) if rng.random() < 0.5 else (480, 270)
    bitrate = int(rng.integers(*LOW_BITRATE))
    with ClipWriter(out, size, fps, bitrate) as writer:
        for _, rgb in read_frames(reference):
            writer.write(rgb)
    return VideoQuery(out, "reencode", {"size": list(size), "bitrate": bitrate}, VideoTruth(0.0, duration, 0.0, duration))


def _edited_subclip(reference: Path, out: Path, rng: np.random.Generator, name: str, edit, size=None, params=None) -> VideoQuery:
    w, h, fps, duration = probe(reference)
    start, end = _window(duration, float(rng.uniform(*SUBCLIP_SECONDS)), rng)
    with ClipWriter(out, size or (w, h), fps) as writer:
        for i, (t, rgb) in enumerate(read_frames(reference, start, end)):
            writer.write(edit(rgb, i, fps))
        length = writer.frames / fps
    return VideoQuery(out, name, {"start": round(start, 2), **(params or {})}, VideoTruth(0.0, length, start, start + length))


def subclip(reference: Path, out: Path, rng: np.random.Generator, fillers: list[Path]) -> VideoQuery:
    return _edited_subclip(reference, out, rng, "subclip", lambda rgb, i, fps: rgb)


def letterbox(reference: Path, out: Path, rng: np.random.Generator, fillers: list[Path]) -> VideoQuery:
    w, h, _, _ = probe(reference)
    canvas_size = [(960, 720), (720, 720), (720, 1280)][int(rng.integers(3))]

    def edit(rgb, i, fps):
        scale = min(canvas_size[0] / rgb.shape[1], canvas_size[1] / rgb.shape[0])
        inner = _fit(rgb, (int(rgb.shape[1] * scale) // 2 * 2, int(rgb.shape[0] * scale) // 2 * 2))
        canvas = np.zeros((canvas_size[1], canvas_size[0], 3), np.uint8)
        y, x = (canvas_size[1] - inner.shape[0]) // 2, (canvas_size[0] - inner.shape[1]) // 2
        canvas[y : y + inner.shape[0], x : x + inner.shape[1]] = inner
        return canvas

    return _edited_subclip(reference, out, rng, "letterbox", edit, canvas_size, {"canvas": list(canvas_size)})


def flip(reference: Path, out: Path, rng: np.random.Generator, fillers: list[Path]) -> VideoQuery:
    return _edited_subclip(reference, out, rng, "flip", lambda rgb, i, fps: np.ascontiguousarray(rgb[:, ::-1]))


def logo(reference: Path, out: Path, rng: np.random.Generator, fillers: list[Path]) -> VideoQuery:
    w, h, _, _ = probe(reference)
    stamp = Image.new("RGBA", (int(w * 0.22), int(h * 0.12)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(stamp)
    draw.rounded_rectangle((0, 0, stamp.width - 1, stamp.height - 1), radius=12, fill=(20, 20, 20, 150))
    draw.text((12, stamp.height * 0.2), "CHANNEL", fill=(255, 255, 255, 230), font=_font(int(stamp.height * 0.55)))
    start = np.array([rng.uniform(0, w - stamp.width), rng.uniform(0, h - stamp.height)])
    velocity = rng.uniform(-60, 60, 2)

    def edit(rgb, i, fps):
        pos = start + velocity * i / fps
        pos = np.abs(np.mod(pos, 2 * np.array([w - stamp.width, h - stamp.height])))
        pos = np.where(pos > np.array([w - stamp.width, h - stamp.height]), 2 * np.array([w - stamp.width, h - stamp.height]) - pos, pos)
        frame = Image.fromarray(rgb).convert("RGBA")
        frame.alpha_composite(stamp, (int(pos[0]), int(pos[1])))
        return np.asarray(frame.convert("RGB"))

    return _edited_subclip(reference, out, rng, "logo", edit)


def speed(reference: Path, out: Path, rng: np.random.Generator, fillers: list[Path]) -> VideoQuery:
    w, h, fps, duration = probe(reference)
    band = SPEEDS[int(rng.integers(len(SPEEDS)))]
    factor = float(rng.uniform(*band))
    ref_length = min(duration, float(rng.uniform(4.0, 7.0)))
    start, end = _window(duration, ref_length, rng)
    source = list(read_frames(reference, start, end))
    times = np.array([t for t, _ in source])
    count = int((end - start) / factor * fps)
    with ClipWriter(out, (w, h), fps) as writer:
        for i in range(count):
            ref_t = start + factor * i / fps
            writer.write(source[int(np.argmin(np.abs(times - ref_t)))][1])
        length = writer.frames / fps
    return VideoQuery(out, "speed", {"factor": round(factor, 3), "start": round(start, 2)}, VideoTruth(0.0, length, start, start + factor * length))


def compilation(reference: Path, out: Path, rng: np.random.Generator, fillers: list[Path]) -> VideoQuery:
    w, h, fps, duration = probe(reference)
    before = filler_frames(fillers, float(rng.uniform(*FILLER_SECONDS)), fps, rng)
    after = filler_frames(fillers, float(rng.uniform(*FILLER_SECONDS)), fps, rng)
    start, end = _window(duration, float(rng.uniform(*COMPILATION_COPY_SECONDS)), rng)
    with ClipWriter(out, OUTPUT_SIZE, fps) as writer:
        for rgb in before:
            writer.write(rgb)
        copy_start = writer.frames / fps
        for _, rgb in read_frames(reference, start, end):
            writer.write(rgb)
        copy_end = writer.frames / fps
        for rgb in after:
            writer.write(rgb)
    truth = VideoTruth(copy_start, copy_end, start, start + (copy_end - copy_start))
    return VideoQuery(out, "compilation", {"start": round(start, 2), "before": round(copy_start, 2)}, truth)


def still_pan(still_path: Path, out: Path, rng: np.random.Generator, fps: float = 24.0) -> VideoQuery:
    frames, params = pan_frames(_load_still(still_path), float(rng.uniform(*PAN_SECONDS)), fps, rng)
    with ClipWriter(out, OUTPUT_SIZE, fps) as writer:
        for rgb in frames:
            writer.write(rgb)
        length = writer.frames / fps
    return VideoQuery(out, "still_pan", params, VideoTruth(0.0, length, 0.0, 0.0))


def negative_clip(out: Path, rng: np.random.Generator, fillers: list[Path], fps: float = 24.0) -> VideoQuery:
    with ClipWriter(out, OUTPUT_SIZE, fps) as writer:
        for _ in range(int(rng.integers(2, 4))):
            for rgb in filler_frames(fillers, float(rng.uniform(*FILLER_SECONDS)), fps, rng):
                writer.write(rgb)
    return VideoQuery(out, "negative_clip", {}, None)


VIDEO_EDITS: dict[str, VideoEdit] = {
    "reencode": reencode,
    "subclip": subclip,
    "letterbox": letterbox,
    "flip": flip,
    "speed": speed,
    "logo": logo,
    "compilation": compilation,
}
QUICK_VIDEO_EDITS = ("subclip", "compilation")

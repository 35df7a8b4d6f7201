"""Measurement helpers shared by the detector tests and ``scripts/bench_watermarks.py``.

Clean-frame corpora, the attacks we measure robustness against, and a way to make a
``MediaSample`` from a file without the intake pipeline (so the detectors can be
measured on their own). Nothing here runs in production scans.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import av
import cv2
import numpy as np
from PIL import Image

from provenance.media.frames import Frame, MediaSample, MediaSource

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VIDEO_FORMATS = {".mp4": "mp4", ".mov": "mov", ".webm": "webm", ".mkv": "mkv", ".avi": "avi"}


def media_root(repo_root: Path | None = None) -> Path:
    """``shared/media`` beside the repository (``../shared/media``)."""
    root = repo_root or Path(__file__).resolve().parents[2]
    return root.parent / "shared" / "media"


# -- samples without intake ---------------------------------------------------------
def _sniff(data: bytes, suffix: str) -> tuple[str, str]:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg", "image"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png", "image"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image"
    return VIDEO_FORMATS.get(suffix.lower(), "mp4"), "video"


def decode_video_frames(path: Path, every: int = 1, limit: int | None = None) -> tuple[list[Frame], float, float]:
    """Every ``every``-th decoded frame as RGB; returns (frames, fps, duration)."""
    frames: list[Frame] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 0) or 25.0
        for i, vf in enumerate(container.decode(stream)):
            if i % every == 0:
                ts = float(vf.time) if vf.time is not None else i / fps
                frames.append(Frame(len(frames), ts, vf.to_ndarray(format="rgb24"), "rate"))
                if limit and len(frames) >= limit:
                    break
        duration = float(container.duration or 0) / av.time_base if container.duration else len(frames) / fps
    return frames, fps, duration


def sample_from_file(path: Path, every: int = 1, limit: int | None = 64, metadata: dict[str, str] | None = None) -> MediaSample:
    """A ``MediaSample`` built directly from the dataclasses (tests and benchmarks only)."""
    data = path.read_bytes()
    fmt, kind = _sniff(data, path.suffix)
    source = MediaSource(path, len(data), hashlib.sha256(data).hexdigest(), fmt, kind)
    if kind == "image":
        with Image.open(io.BytesIO(data)) as im:
            rgb = np.asarray(im.convert("RGB"))
        return MediaSample(source, [Frame(0, 0.0, rgb, "still")], rgb.shape[1], rgb.shape[0], 0.0,
                           metadata=metadata or {})
    frames, fps, duration = decode_video_frames(path, every=every, limit=limit)
    h, w = frames[0].rgb.shape[:2] if frames else (0, 0)
    return MediaSample(source, frames, w, h, duration, fps=fps, decoded_frames=len(frames), metadata=metadata or {})


# -- clean corpus -----------------------------------------------------------------------
@dataclass(frozen=True)
class CleanFrame:
    origin: str  # file name plus the view, e.g. "mate-flow.jpg#crop-center"
    rgb: np.ndarray


def _image_views(name: str, rgb: np.ndarray) -> Iterator[CleanFrame]:
    h, w = rgb.shape[:2]
    yield CleanFrame(f"{name}#full", rgb)
    views = {
        "crop-center": rgb[h // 6 : h - h // 6, w // 6 : w - w // 6],
        "crop-topleft": rgb[: int(h * 0.6), : int(w * 0.6)],
        "crop-square": rgb[:min(h, w), :min(h, w)],
    }
    for view, crop in views.items():
        if crop.shape[0] * crop.shape[1] >= 256 * 256:
            yield CleanFrame(f"{name}#{view}", np.ascontiguousarray(crop))


def clean_frames(root: Path | None = None, video_every: int = 1) -> Iterator[CleanFrame]:
    """Frames we know carry no watermark: every video frame of ``works/videos`` and
    ``others/`` + ``works/images`` with three crops each. Deterministic order."""
    root = root or media_root()
    for video in sorted((root / "works" / "videos").glob("*.mp4")):
        frames, _, _ = decode_video_frames(video, every=video_every)
        for f in frames:
            yield CleanFrame(f"{video.name}@{f.index}", f.rgb)
    for folder in (root / "others", root / "works" / "images"):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                with Image.open(path) as im:
                    rgb = np.asarray(im.convert("RGB"))
                yield from _image_views(path.name, rgb)


# -- embedding and attacks --------------------------------------------------------------
def embed_dwtdct(rgb: np.ndarray, bits: tuple[int, ...] | list[int], method: str = "dwtDct") -> np.ndarray:
    """Watermark ``rgb`` the way the public generator scripts do (BGR into imwatermark)."""
    from imwatermark import WatermarkEncoder

    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", list(bits))
    bgr = encoder.encode(np.ascontiguousarray(rgb[:, :, ::-1]), method)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def fit_to(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop to the aspect ratio of ``size`` (w, h) and resize: a generator-sized frame."""
    h, w = rgb.shape[:2]
    tw, th = size
    scale = max(tw / w, th / h)
    rw, rh = max(tw, round(w * scale)), max(th, round(h * scale))
    resized = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    y, x = (rh - th) // 2, (rw - tw) // 2
    return np.ascontiguousarray(resized[y : y + th, x : x + tw])


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def resize(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)


def crop(rgb: np.ndarray, keep: float) -> np.ndarray:
    """Keep the centre ``keep`` fraction of each side."""
    h, w = rgb.shape[:2]
    ch, cw = round(h * keep), round(w * keep)
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(rgb[y : y + ch, x : x + cw])


IMAGE_ATTACKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda x: x,
    "jpeg-q90": lambda x: jpeg(x, 90),
    "jpeg-q75": lambda x: jpeg(x, 75),
    "jpeg-q50": lambda x: jpeg(x, 50),
    "resize-0.75": lambda x: resize(x, 0.75),
    "resize-0.5": lambda x: resize(x, 0.5),
    "crop-0.9": lambda x: crop(x, 0.9),
    "crop-0.9+jpeg-q75": lambda x: jpeg(crop(x, 0.9), 75),
}


def encode_h264(frames: list[np.ndarray], fps: int = 24, crf: int = 23, path: Path | None = None) -> bytes:
    """Encode RGB frames as H.264 (yuv420p) MP4, as a platform re-encode would."""
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf if path is None else str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        for rgb in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: h - h % 2, : w - w % 2]), format="rgb24")
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes() if path is not None else buf.getvalue()


def decode_h264(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]

"""Video: one decoding pass that samples frames at a fixed rate and at scene cuts.

Every decoded frame is looked at only through a tiny view of its luma plane (no colour
conversion), which is what keeps sampling close to the cost of decoding alone. Only
the frames we keep are converted to RGB, already downscaled by the decoder's scaler.
"""
from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from provenance.errors import CorruptMediaError, MediaTooLargeError, UnsupportedMediaError
from provenance.media.frames import Frame, MediaSample, MediaSource
from provenance.settings import MediaLimits, SamplingConfig

_TINY = (16, 9)  # luma grid used for scene-cut and repeat detection
_HIST_BINS = 32


def _luma_grid(frame: av.VideoFrame, step_y: int, step_x: int) -> np.ndarray:
    """A coarse luma image, read straight from the Y plane when the format has one."""
    if frame.format.name.startswith(("yuv", "yuvj", "nv12", "nv21", "gray")):
        plane = frame.planes[0]
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        return rows[::step_y, : plane.width : step_x]
    return frame.to_ndarray(format="gray")[::step_y, ::step_x]


@dataclass
class _CutDetector:
    """Histogram change between consecutive frames; a large change is a hard cut."""

    threshold: float
    _previous: np.ndarray | None = None

    def is_cut(self, luma: np.ndarray) -> bool:
        histogram = np.bincount((luma >> 3).ravel(), minlength=_HIST_BINS).astype(np.float32)
        histogram /= max(1.0, histogram.sum())
        previous, self._previous = self._previous, histogram
        if previous is None:
            return False
        return float(np.abs(histogram - previous).sum()) / 2.0 > self.threshold


def _tiny(luma: np.ndarray) -> np.ndarray:
    h, w = luma.shape
    ys = np.linspace(0, h - 1, _TINY[1] * 2).astype(int)
    xs = np.linspace(0, w - 1, _TINY[0] * 2).astype(int)
    return luma[np.ix_(ys, xs)].astype(np.int16)


def _output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    # even sizes keep swscale on its fast path
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def open_container(source: MediaSource) -> av.container.InputContainer:
    try:
        return av.open(str(source.path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"{source.path.name}: cannot read the {source.format.upper()} container ({exc})") from exc


def check_stream(source: MediaSource, container, limits: MediaLimits) -> tuple[av.video.stream.VideoStream, float]:
    if not container.streams.video:
        raise UnsupportedMediaError(f"{source.path.name}: the {source.format.upper()} file has no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > limits.max_pixels:
        raise MediaTooLargeError(
            f"{source.path.name}: {width}x{height} pixels per frame exceeds the limit of {limits.max_pixels:,}"
        )
    duration = 0.0
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    if duration > limits.max_duration_s:
        raise MediaTooLargeError(
            f"{source.path.name}: {duration:.0f} s of video exceeds the limit of {limits.max_duration_s:.0f} s"
        )
    return stream, duration


def check_not_truncated(source: MediaSource, covered: float, declared: float, verb: str) -> None:
    """Refuse a video whose data stops well before the duration its container declares."""
    if declared > 2.0 and covered < 0.8 * declared - 1.0:
        raise CorruptMediaError(f"{source.path.name}: truncated — {verb} {covered:.1f} s of a declared {declared:.1f} s")


def _metadata(container, stream) -> dict[str, str]:
    tags = {f"container:{k}": str(v)[:2000] for k, v in (container.metadata or {}).items()}
    tags.update({f"stream:{k}": str(v)[:2000] for k, v in (stream.metadata or {}).items()})
    return tags


def load_video(source: MediaSource, limits: MediaLimits, sampling: SamplingConfig) -> MediaSample:
    container = open_container(source)
    try:
        stream, declared_duration = check_stream(source, container, limits)
        stream.thread_type = "AUTO"
        return _sample(source, container, stream, declared_duration, limits, sampling)
    finally:
        container.close()


def _sample(source, container, stream, declared_duration, limits, sampling) -> MediaSample:
    width, height = stream.codec_context.width, stream.codec_context.height
    out_w, out_h = _output_size(width, height, sampling.max_side)
    step_y, step_x = max(1, height // 36), max(1, width // 64)
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    interval = 1.0 / sampling.fps
    cuts = _CutDetector(sampling.scene_cut_threshold)
    frames: list[Frame] = []
    next_due, last_kept, last_time, decoded = 0.0, None, 0.0, 0
    try:
        for frame in container.decode(stream):
            decoded += 1
            t = float(frame.pts * stream.time_base) - start if frame.pts is not None else decoded / float(stream.average_rate or 25)
            last_time = max(last_time, t)
            if t > limits.max_duration_s:
                raise MediaTooLargeError(f"{source.path.name}: video runs past the limit of {limits.max_duration_s:.0f} s")
            luma = _luma_grid(frame, step_y, step_x)
            cut = cuts.is_cut(luma)
            due = t + 1e-6 >= next_due
            if not (due or cut):
                continue
            if due:
                next_due = (int(t / interval) + 1) * interval
            tiny = _tiny(luma)
            if last_kept is not None and not cut and float(np.abs(tiny - last_kept).mean()) < sampling.dedupe_threshold:
                continue  # a repeat of the last sample: static shot
            last_kept = tiny
            rgb = frame.to_ndarray(format="rgb24", width=out_w, height=out_h)
            frames.append(Frame(index=len(frames), timestamp=round(max(0.0, t), 4), rgb=rgb, reason="scene_cut" if cut else "rate"))
            if len(frames) > limits.max_frames:
                raise MediaTooLargeError(f"{source.path.name}: more than {limits.max_frames} sampled frames")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"{source.path.name}: the video data is damaged ({exc})") from exc
    frame_duration = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
    duration = last_time + frame_duration if decoded else 0.0
    if not frames:
        raise CorruptMediaError(f"{source.path.name}: no decodable video frames")
    check_not_truncated(source, duration, declared_duration, "decoded")
    return MediaSample(
        source=source,
        frames=frames,
        width=width,
        height=height,
        duration=round(duration, 4),
        fps=float(stream.average_rate) if stream.average_rate else None,
        decoded_frames=decoded,
        metadata=_metadata(container, stream),
    )

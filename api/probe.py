"""Check an upload before anything is stored: what it is (from its bytes), its limits, its integrity.

Images are decoded completely (cheap). Videos are checked without decoding every frame:
the container must open, the first frame must decode, and the packets, read to the end,
must cover the duration the container declares — which is what catches a truncated
upload. Damage deeper inside a stream that only decoding reveals fails the scan later,
with the reason.
"""
from __future__ import annotations

import av

from provenance.errors import CorruptMediaError, MediaTooLargeError, UnsupportedMediaError
from provenance.media.frames import MediaSource
from provenance.media.images import load_image
from provenance.media.intake import identify
from provenance.settings import Settings


def probe_media(path, settings: Settings) -> MediaSource:
    """Return the upload's ``MediaSource`` or raise a ``MediaError`` saying what is wrong."""
    source = identify(path, settings)
    if source.kind == "image":
        load_image(source, settings.limits, max_side=64)
    else:
        _probe_video(source, settings)
    return source


def _probe_video(source: MediaSource, settings: Settings) -> None:
    name, limits = source.path.name, settings.limits
    try:
        container = av.open(str(source.path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"{name}: cannot read the {source.format.upper()} container ({exc})") from exc
    try:
        if not container.streams.video:
            raise UnsupportedMediaError(f"{name}: the {source.format.upper()} file has no video stream")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > limits.max_pixels:
            raise MediaTooLargeError(f"{name}: {width}x{height} pixels per frame exceeds the limit of {limits.max_pixels:,}")
        declared = 0.0
        if stream.duration and stream.time_base:
            declared = float(stream.duration * stream.time_base)
        elif container.duration:
            declared = container.duration / av.time_base
        if declared > limits.max_duration_s:
            raise MediaTooLargeError(f"{name}: {declared:.0f} s of video exceeds the limit of {limits.max_duration_s:.0f} s")
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
        covered, decoded_one, packets = 0.0, False, 0
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's flush packet
                continue
            packets += 1
            if packet.pts is not None and packet.time_base:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base) - start
                covered = max(covered, end)
                if covered > limits.max_duration_s:
                    raise MediaTooLargeError(f"{name}: video runs past the limit of {limits.max_duration_s:.0f} s")
            if not decoded_one:
                decoded_one = bool(packet.decode())
        if not decoded_one:
            decoded_one = bool(stream.codec_context.decode(None)) if packets else False
        if not decoded_one:
            raise CorruptMediaError(f"{name}: no decodable video frames")
        if declared > 2.0 and covered < 0.8 * declared - 1.0:
            raise CorruptMediaError(f"{name}: truncated — the data covers {covered:.1f} s of a declared {declared:.1f} s")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"{name}: the video data is damaged ({exc})") from exc
    finally:
        container.close()

"""Check an upload before anything is stored: what it is (from its bytes), its limits, its integrity.

Images are decoded completely (cheap). Videos are checked without decoding every frame:
the container must open, the first frame must decode, and the packets, read to the end,
must cover the duration the container declares — which is what catches a truncated
upload. Damage deeper inside a stream that only decoding reveals fails the scan later,
with the reason.
"""
from __future__ import annotations

from pathlib import Path

import av

from provenance.errors import CorruptMediaError, MediaTooLargeError
from provenance.media.frames import MediaSource
from provenance.media.images import load_image
from provenance.media.intake import identify
from provenance.media.video import check_not_truncated, check_stream, open_container
from provenance.settings import Settings


def probe_media(path: Path, settings: Settings) -> MediaSource:
    """Return the upload's ``MediaSource`` or raise a ``MediaError`` saying what is wrong."""
    source = identify(path, settings)
    if source.kind == "image":
        load_image(source, settings.limits, max_side=64)
    else:
        _probe_video(source, settings)
    return source


def _probe_video(source: MediaSource, settings: Settings) -> None:
    name, limits = source.path.name, settings.limits
    container = open_container(source)
    try:
        stream, declared = check_stream(source, container, limits)
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
        covered, decoded_one, packets = 0.0, False, 0
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's flush packet
                continue
            packets += 1
            if packet.pts is not None and packet.time_base:
                covered = max(covered, float((packet.pts + (packet.duration or 0)) * packet.time_base) - start)
                if covered > limits.max_duration_s:
                    raise MediaTooLargeError(f"{name}: video runs past the limit of {limits.max_duration_s:.0f} s")
            if not decoded_one:
                decoded_one = bool(packet.decode())
        if not decoded_one and packets:
            decoded_one = bool(stream.codec_context.decode(None))
        if not decoded_one:
            raise CorruptMediaError(f"{name}: no decodable video frames")
        check_not_truncated(source, covered, declared, "the data covers")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"{name}: the video data is damaged ({exc})") from exc
    finally:
        container.close()

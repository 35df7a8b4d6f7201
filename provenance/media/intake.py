"""Entry point of intake: check a file, identify it from its bytes, sample its frames."""
from __future__ import annotations

import hashlib
from pathlib import Path

from provenance.errors import CorruptMediaError, MediaTooLargeError, UnsupportedMediaError
from provenance.media.frames import MediaSample, MediaSource
from provenance.media.images import load_image
from provenance.media.sniff import kind_of, sniff_format
from provenance.media.video import load_video
from provenance.settings import Settings

_CHUNK = 1 << 20


def identify(path: Path, settings: Settings) -> MediaSource:
    """Hash the file and sniff its format; refuse empty, oversized and unknown files."""
    path = Path(path)
    if not path.is_file():
        raise UnsupportedMediaError(f"{path}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise CorruptMediaError(f"{path.name}: the file is empty (0 bytes)")
    if size > settings.limits.max_file_bytes:
        raise MediaTooLargeError(
            f"{path.name}: {size:,} bytes exceeds the limit of {settings.limits.max_file_bytes:,} bytes"
        )
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(64)
        digest.update(head)
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    media_format = sniff_format(head)
    if media_format is None:
        raise UnsupportedMediaError(
            f"{path.name}: not a supported image (JPEG, PNG, WebP) or video (MP4, MOV, WebM, MKV, AVI)"
        )
    return MediaSource(path=path, size=size, sha256=digest.hexdigest(), format=media_format, kind=kind_of(media_format))


def load_media(path: Path | str, settings: Settings) -> MediaSample:
    """Identify ``path`` and sample its frames. Raises a ``MediaError`` with a clear message."""
    source = identify(Path(path), settings)
    if source.kind == "image":
        return load_image(source, settings.limits, settings.sampling.max_side)
    return load_video(source, settings.limits, settings.sampling)

"""Recognise a media format from its first bytes. Names and declared types are never trusted."""
from __future__ import annotations

from provenance.media.frames import MediaKind

IMAGE_FORMATS = {"jpeg", "png", "webp"}
VIDEO_FORMATS = {"mp4", "mov", "webm", "mkv", "avi"}
MEDIA_EXTENSIONS = {
    ".jpg", ".jpeg", ".png", ".webp", ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi",
}  # only used to pick files out of a folder; content decides what a file is

_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def sniff_format(head: bytes) -> str | None:
    """Return the format name for the first bytes of a file (>= 64 bytes), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    return None


def kind_of(media_format: str) -> MediaKind:
    return "image" if media_format in IMAGE_FORMATS else "video"

"""Errors a user can act on. Every message says what was wrong with which input."""
from __future__ import annotations


class ProvenanceError(Exception):
    """Base class: an expected failure with a message fit for a person."""


class MediaError(ProvenanceError):
    """The input media cannot be used. Nothing was stored."""

    code = "bad_media"


class UnsupportedMediaError(MediaError):
    """Not an image or video format we accept (sniffed from the bytes, not the name)."""

    code = "unsupported_media"


class CorruptMediaError(MediaError):
    """Recognised format, but the data is damaged, truncated or empty."""

    code = "corrupt_media"


class MediaTooLargeError(MediaError):
    """Over a configured limit: file size, pixel count, or duration."""

    code = "media_too_large"


class NotFoundError(ProvenanceError):
    code = "not_found"


class ConfigurationError(ProvenanceError):
    code = "configuration"

"""Media intake: identify an upload by its bytes and sample its frames."""
from provenance.media.frames import Frame, MediaSample, MediaSource
from provenance.media.intake import load_media, identify

__all__ = ["Frame", "MediaSample", "MediaSource", "load_media", "identify"]

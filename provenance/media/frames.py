"""The value types every stage after intake works on."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

MediaKind = Literal["image", "video"]


@dataclass(frozen=True)
class Frame:
    """One sampled frame: RGB pixels plus where it sits in the source."""

    index: int  # position in the sample, 0-based
    timestamp: float  # seconds from the start; 0.0 for a still image
    rgb: np.ndarray  # H x W x 3, uint8
    reason: str = "rate"  # why it was sampled: "still", "rate", "scene_cut"

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


@dataclass(frozen=True)
class MediaSource:
    """An input file as received: identified by its bytes, never by its name."""

    path: Path
    size: int  # bytes
    sha256: str  # hex digest of the original bytes
    format: str  # sniffed container/codec family, e.g. "jpeg", "png", "mp4", "webm"
    kind: MediaKind

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class MediaSample:
    """The frames sampled from one source, with what intake learnt about it."""

    source: MediaSource
    frames: list[Frame]
    width: int
    height: int
    duration: float  # seconds; 0.0 for a still image
    fps: float | None = None  # native frame rate of a video
    decoded_frames: int = 0  # frames the decoder produced (videos), for benchmarks
    metadata: dict[str, str] = field(default_factory=dict)  # container / EXIF / XMP tags, as text

    @property
    def kind(self) -> MediaKind:
        return self.source.kind

"""The fingerprint signal plugin contract.

A signal turns frames into fingerprints, knows how to compare two of them, which index
kind finds near neighbours, the distance under which two frames count as the same
picture, and which store columns hold it. Adding a signal means adding one module
(and its column); no other signal changes.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

IndexKind = Literal["hamming", "cosine"]


@dataclass(frozen=True)
class Fingerprint:
    value: Any  # bytes (packed bits) for hashes; float32 unit vector for embeddings
    quality: int | None = None  # a signal's own confidence in the value (PDQ: 0..100)


@dataclass(frozen=True)
class SignalStatus:
    available: bool
    detail: str = ""  # model id when available, the reason when not


class Signal(ABC):
    name: str
    index_kind: IndexKind
    dimension: int  # bits for hamming, floats for cosine
    column: str  # ReferenceFrame attribute holding the value
    default_threshold: float  # max distance at which two frames are the same picture

    def status(self) -> SignalStatus:
        return SignalStatus(True, self.model_id)

    @property
    def model_id(self) -> str:
        return self.name

    @abstractmethod
    def compute(self, images: list[np.ndarray]) -> list[Fingerprint | None]:
        """Fingerprint a batch of RGB uint8 images; None where an image yields nothing useful."""

    @abstractmethod
    def distance(self, a: Any, b: Any) -> float:
        """Distance between two values; 0 means identical."""

    @abstractmethod
    def similarity(self, distance: float) -> float:
        """Map a distance to 0..1, 1 meaning identical, for display and fusion."""

    def to_columns(self, fingerprint: Fingerprint | None) -> dict[str, Any]:
        return {self.column: None if fingerprint is None else fingerprint.value}

    def from_row(self, row: Any) -> Any:
        return getattr(row, self.column)


class HashSignal(Signal):
    """Binary perceptual hashes compared by Hamming distance."""

    index_kind: IndexKind = "hamming"
    # Perceptual hashes keep only coarse structure (PDQ: 64x64, pHash: 32x32), so they are
    # computed on a <=512 px working copy: 10x cheaper than on 1024 px frames.
    working_size: int = 512

    def distance(self, a: bytes, b: bytes) -> float:
        return float(hamming(a, b))

    def similarity(self, distance: float) -> float:
        return max(0.0, 1.0 - distance / (self.dimension / 2))  # half the bits differ: unrelated


def hamming(a: bytes, b: bytes) -> int:
    return int.from_bytes(a, "big").__xor__(int.from_bytes(b, "big")).bit_count()


def pack_bits(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8).ravel()).tobytes()


def working_copy(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` shrunk (area averaging, no aliasing) so its longer side is at most ``max_side``."""
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return np.ascontiguousarray(image)
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

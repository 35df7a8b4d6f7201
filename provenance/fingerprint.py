"""Run the enabled signals over sampled frames, skipping the ones that are unavailable."""
from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image

from provenance.signals import Fingerprint, Signal, SignalStatus

log = logging.getLogger(__name__)

FrameFingerprints = dict[str, Fingerprint | None]  # signal name -> value for one frame


class Fingerprinter:
    def __init__(self, signals: list[Signal]) -> None:
        self.signals = signals
        self._statuses: dict[str, SignalStatus] | None = None

    def statuses(self) -> dict[str, SignalStatus]:
        """Each configured signal's availability, decided once per process."""
        if self._statuses is None:
            self._statuses = {signal.name: signal.status() for signal in self.signals}
        return self._statuses

    @property
    def active(self) -> list[Signal]:
        statuses = self.statuses()
        return [s for s in self.signals if statuses[s.name].available]

    def signal(self, name: str) -> Signal | None:
        return next((s for s in self.active if s.name == name), None)

    def fingerprint(self, images: list[np.ndarray]) -> list[FrameFingerprints]:
        per_frame: list[FrameFingerprints] = [{} for _ in images]
        for signal in self.active:
            for values, fingerprint in zip(per_frame, signal.compute(images)):
                values[signal.name] = fingerprint
        return per_frame


def jpeg_thumbnail(image: np.ndarray, max_side: int = 384, quality: int = 85) -> tuple[bytes, tuple[int, int]]:
    """A small JPEG of a frame: report evidence and input to later verification."""
    picture = Image.fromarray(image)
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue(), picture.size

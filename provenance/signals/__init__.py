"""Fingerprint signals, one plugin per module; ``build_signals`` picks the configured ones."""
from __future__ import annotations

from provenance.embedder import ClipConfig, shared_embedder
from provenance.settings import Settings
from provenance.signals.base import Fingerprint, Signal, SignalStatus
from provenance.signals.clip import ClipSignal
from provenance.signals.pdq import PdqSignal
from provenance.signals.phash import PHashSignal

KNOWN_SIGNALS = ("pdq", "phash", "clip")


def build_signals(settings: Settings) -> list[Signal]:
    """The enabled signals, in the order they are listed in the settings.

    CLIP is included whenever it is enabled, even if its weights later turn out to be
    missing: it then reports itself unavailable instead of silently vanishing.
    """
    signals: list[Signal] = []
    for name in settings.signals:
        if name == "pdq":
            signals.append(PdqSignal())
        elif name == "phash":
            signals.append(PHashSignal())
        elif name == "clip":
            if settings.clip_enabled:
                signals.append(ClipSignal(shared_embedder(ClipConfig.from_settings(settings))))
        else:
            raise ValueError(f"unknown signal {name!r}; known: {', '.join(KNOWN_SIGNALS)}")
    return signals


__all__ = ["Fingerprint", "Signal", "SignalStatus", "build_signals", "KNOWN_SIGNALS"]

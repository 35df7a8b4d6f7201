"""CLIP image embeddings compared by cosine similarity: catches re-renders and heavy edits."""
from __future__ import annotations

import numpy as np

from provenance.embedder import ClipEmbedder, ClipUnavailable
from provenance.signals.base import Fingerprint, Signal, SignalStatus


class ClipSignal(Signal):
    name = "clip"
    index_kind = "cosine"
    column = "clip"
    # distance = 1 - cosine. Near-duplicates of one picture sit above ~0.90 cosine with
    # ViT-B-32; unrelated photos of the same subject rarely pass 0.85.
    default_threshold = 0.10

    def __init__(self, embedder: ClipEmbedder) -> None:
        self.embedder = embedder

    @property
    def dimension(self) -> int:  # type: ignore[override]
        self.embedder.load()
        return int(self.embedder.dimension)

    @property
    def model_id(self) -> str:
        return self.embedder.model_id or f"{self.embedder.config.model}/{self.embedder.config.pretrained}"

    def status(self) -> SignalStatus:
        try:
            self.embedder.load()
        except ClipUnavailable as exc:
            return SignalStatus(False, str(exc))
        return SignalStatus(True, self.model_id)

    def compute(self, images: list[np.ndarray]) -> list[Fingerprint | None]:
        return [Fingerprint(vector) for vector in self.embedder.embed(images)]

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(1.0 - np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))

    def similarity(self, distance: float) -> float:
        return float(np.clip(1.0 - distance, 0.0, 1.0))

    def to_columns(self, fingerprint: Fingerprint | None) -> dict:
        if fingerprint is None:
            return {"clip": None, "clip_model": None}
        return {"clip": fingerprint.value, "clip_model": self.model_id}

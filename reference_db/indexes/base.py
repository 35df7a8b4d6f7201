"""The searcher contract shared by the in-process and the pgvector implementations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence


@dataclass(frozen=True)
class Neighbor:
    frame_id: int
    work_id: int
    distance: float  # Hamming bits for hashes, 1 - cosine for embeddings


@dataclass(frozen=True)
class IndexSpec:
    """What a searcher needs to know of a signal (a subset of ``provenance.signals.Signal``)."""

    name: str
    kind: str  # "hamming" | "cosine"
    dimension: int
    column: str
    model: str | None = None  # embeddings: only frames made by this model are comparable


class FrameSearcher(Protocol):
    def refresh(self) -> None:
        """Catch up with the store's latest additions and removals."""

    def search(self, spec: IndexSpec, queries: Sequence[Any], k: int) -> list[list[Neighbor]]:
        """For each query value, up to ``k`` nearest stored frames, nearest first."""

    def status(self) -> dict[str, Any]:
        """Readiness: loaded, the store change applied last, frames per index."""

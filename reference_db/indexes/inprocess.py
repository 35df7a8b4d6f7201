"""faiss indexes for every signal, loaded from the store and kept fresh from its change log."""
from __future__ import annotations

import threading
from typing import Any, Sequence

from reference_db.indexes.base import IndexSpec, Neighbor
from reference_db.indexes.faiss_index import FaissFrameIndex
from reference_db.store import Store


class InProcessSearcher:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._indexes: dict[IndexSpec, FaissFrameIndex] = {}
        self._applied: dict[IndexSpec, int] = {}  # last store change each index reflects
        self._works: dict[IndexSpec, set[int]] = {}
        self._lock = threading.RLock()

    def _load(self, spec: IndexSpec) -> FaissFrameIndex:
        """Bulk-load one index. The change id is read first: anything later is replayed."""
        index = FaissFrameIndex(spec.kind, spec.dimension)
        applied = self.store.latest_change()
        works: set[int] = set()
        for rows in self.store.iter_frame_values(spec.column, model=spec.model):
            index.add([r.frame_id for r in rows], [r.work_id for r in rows], [r.value for r in rows])
            works.update(r.work_id for r in rows)
        self._indexes[spec], self._applied[spec], self._works[spec] = index, applied, works
        return index

    def _index_for(self, spec: IndexSpec) -> FaissFrameIndex:
        with self._lock:
            return self._indexes.get(spec) or self._load(spec)

    def refresh(self) -> None:
        with self._lock:
            if not self._indexes:
                return
            latest = self.store.latest_change()
            for spec in list(self._indexes):
                if self._applied[spec] < latest:
                    self._replay(spec)

    def _replay(self, spec: IndexSpec) -> None:
        changes = self.store.changes_since(self._applied[spec])
        last_action = {change.work_id: change.action for change in changes}  # the latest action per work wins
        index, works = self._indexes[spec], self._works[spec]
        removed = [w for w, action in last_action.items() if action == "remove" and w in works]
        if removed:
            index.remove_frames(index.frames_of_works(removed))
            works.difference_update(removed)
        added = [w for w, action in last_action.items() if action == "add" and w not in works]
        if added:
            for rows in self.store.iter_frame_values(spec.column, work_ids=added, model=spec.model):
                index.add([r.frame_id for r in rows], [r.work_id for r in rows], [r.value for r in rows])
            works.update(added)
        if changes:
            self._applied[spec] = changes[-1].id

    def search(self, spec: IndexSpec, queries: Sequence[Any], k: int) -> list[list[Neighbor]]:
        return self._index_for(spec).search(queries, k)

    def warm(self, specs: Sequence[IndexSpec]) -> None:
        for spec in specs:
            self._index_for(spec)
        self.refresh()

    def status(self) -> dict[str, Any]:
        with self._lock:
            latest = self.store.latest_change()
            return {
                "backend": "faiss",
                "loaded": bool(self._indexes),
                "fresh": all(applied >= latest for applied in self._applied.values()),
                "store_change": latest,
                "indexes": {
                    spec.name: {"frames": len(index), "applied_change": self._applied[spec], "memory_bytes": index.memory_bytes()}
                    for spec, index in self._indexes.items()
                },
            }

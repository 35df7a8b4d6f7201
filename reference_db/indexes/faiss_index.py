"""One faiss index of one fingerprint kind, keyed by frame id, with frame -> work lookup.

Frame ids only grow (autoincrement), so the id -> work mapping is kept as sorted numpy
arrays (12 bytes per frame) instead of a dict (~100 bytes per frame).
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

import faiss
import numpy as np

from reference_db.indexes.base import Neighbor

# One OpenMP thread: our queries are small batches (one clip's frames), and faiss's
# thread pool slowed single queries down up to 100x when the host was busy
# (1M PDQ: 256 ms vs 2 ms; see docs/benchmarks.md, "Index search").
faiss.omp_set_num_threads(1)


def _make_faiss(kind: str, dimension: int):
    if kind == "hamming":
        return faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(dimension))
    if kind == "cosine":
        # fp16 storage halves memory; inner product on unit vectors is cosine similarity
        flat = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        return faiss.IndexIDMap2(flat)
    raise ValueError(f"unknown index kind {kind!r}")


class FaissFrameIndex:
    def __init__(self, kind: str, dimension: int) -> None:
        self.kind, self.dimension = kind, dimension
        self._index = _make_faiss(kind, dimension)
        self._frame_ids = np.zeros(0, dtype=np.int64)
        self._work_ids = np.zeros(0, dtype=np.int32)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def _encode(self, values: Sequence[Any]) -> np.ndarray:
        if self.kind == "hamming":
            return np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), self.dimension // 8)
        matrix = np.asarray(np.stack([np.asarray(v, dtype=np.float32) for v in values]), dtype=np.float32)
        return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)

    def add(self, frame_ids: Sequence[int], work_ids: Sequence[int], values: Sequence[Any]) -> None:
        if not len(frame_ids):
            return
        ids = np.asarray(frame_ids, dtype=np.int64)
        with self._lock:
            self._index.add_with_ids(self._encode(values), ids)
            self._pending.append((ids, np.asarray(work_ids, dtype=np.int32)))

    def remove_frames(self, frame_ids: np.ndarray) -> None:
        with self._lock:
            self._consolidate()
            if not len(frame_ids):
                return
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(frame_ids, dtype=np.int64)))
            keep = ~np.isin(self._frame_ids, frame_ids)
            self._frame_ids, self._work_ids = self._frame_ids[keep], self._work_ids[keep]

    def frames_of_works(self, work_ids: Sequence[int]) -> np.ndarray:
        with self._lock:
            self._consolidate()
            return self._frame_ids[np.isin(self._work_ids, np.asarray(work_ids, dtype=np.int32))]

    def _consolidate(self) -> None:
        if not self._pending:
            return
        frames = np.concatenate([self._frame_ids] + [ids for ids, _ in self._pending])
        works = np.concatenate([self._work_ids] + [w for _, w in self._pending])
        order = np.argsort(frames, kind="stable")
        self._frame_ids, self._work_ids, self._pending = frames[order], works[order], []

    def _work_of(self, frame_ids: np.ndarray) -> np.ndarray:
        positions = np.clip(np.searchsorted(self._frame_ids, frame_ids), 0, max(0, len(self._frame_ids) - 1))
        return self._work_ids[positions] if len(self._work_ids) else np.zeros_like(frame_ids, dtype=np.int32)

    def search(self, values: Sequence[Any], k: int) -> list[list[Neighbor]]:
        with self._lock:
            self._consolidate()
            if not len(values) or self._index.ntotal == 0:
                return [[] for _ in values]
            k = min(k, int(self._index.ntotal))
            distances, ids = self._index.search(self._encode(values), k)
            works = self._work_of(ids.ravel()).reshape(ids.shape)
        if self.kind == "cosine":
            distances = 1.0 - distances  # similarity -> distance, so smaller is nearer everywhere
        return [
            [Neighbor(int(f), int(w), float(d)) for f, w, d in zip(id_row, work_row, dist_row) if f >= 0]
            for id_row, work_row, dist_row in zip(ids, works, distances)
        ]

    def memory_bytes(self) -> int:
        per_vector = self.dimension // 8 if self.kind == "hamming" else self.dimension * 2
        # faiss id map keeps an int64 id per vector, plus its reverse map in IDMap2 (~40 B/entry)
        return len(self) * (per_vector + 8 + 40) + self._frame_ids.nbytes + self._work_ids.nbytes

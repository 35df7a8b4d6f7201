"""Local features (ORB) of frames, and a retrieval index over every reference frame's features.

Global hashes find re-encodes, resizes and colour edits; they lose a picture as soon as
it is cropped off-centre, rotated or shown inside something else. Local features do
not: a copy keeps many of the original's corners. The reference side uses the 384-px
JPEG the store keeps of every ``full`` frame, so any process can (re)build the index
from the store; it is kept fresh from the store's change log like the hash indexes.

Retrieval: each query descriptor looks up its nearest reference descriptors (faiss,
Hamming); every reference frame holding a close one gets a vote. The frames with the
most votes go on to geometric verification. Above ``IVF_THRESHOLD`` descriptors the
index is an inverted file (nprobe cells), so the cost per query stays bounded as the
store grows.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

import cv2
import faiss
import numpy as np
from sqlalchemy import select

from reference_db.models import FrameImage, ReferenceFrame, Work
from reference_db.store import Store

log = logging.getLogger(__name__)

QUERY_SIDE = 512  # query frames are described at this size (references: their 384-px JPEG)
QUERY_FEATURES = 800
REFERENCE_FEATURES = 600
INDEX_FEATURES = 300  # per reference frame in the retrieval index (the strongest ones)
VOTE_DISTANCE = 52  # Hamming bits (of 256) under which a neighbour counts as a vote
VOTE_NEIGHBOURS = 4
IVF_THRESHOLD = 60_000  # descriptors (~200 frames); below it the index is exact (flat)
STILL_DETAIL = 2  # stills are verified on their JPEG enlarged this much
DETAIL_CACHE = 1024  # stills whose verification features are kept
VOTE_FEATURES = 400  # query descriptors that vote (the strongest, spread over the picture)
IVF_NPROBE = 12


@dataclass
class Features:
    points: np.ndarray  # N x 2 float32, pixel coordinates in the described image
    descriptors: np.ndarray  # N x 32 uint8 (256-bit ORB)
    width: int
    height: int

    def __len__(self) -> int:
        return int(len(self.points))


_local = threading.local()


def _orb(count: int):
    cache = getattr(_local, "orb", None)
    if cache is None:
        cache = _local.orb = {}
    if count not in cache:
        cache[count] = cv2.ORB_create(nfeatures=count, scaleFactor=1.2, nlevels=8, edgeThreshold=15, patchSize=31, fastThreshold=6)
    return cache[count]


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


_GRID = 6  # keypoints are spread over a GRID x GRID layout of cells
CONTRAST = "clahe"


def _normalise(gray: np.ndarray) -> np.ndarray:
    """Even out contrast so FAST finds corners in dim, hazy or washed-out pictures too.
    ORB's binary tests compare intensities within a patch, so a monotonic remapping of
    grey levels leaves descriptors of the same corner nearly unchanged."""
    if CONTRAST == "clahe":
        return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(gray)
    if CONTRAST == "equalize":
        return cv2.equalizeHist(gray)
    return gray


def _spread(keypoints, count: int, width: int, height: int) -> np.ndarray:
    """Indices of up to ``count`` keypoints, strongest first but capped per grid cell, so
    that large text or one busy corner cannot use up the whole budget."""
    response = np.array([k.response for k in keypoints], dtype=np.float32)
    order = np.argsort(-response, kind="stable")
    if len(order) <= count:
        return order
    points = np.array([k.pt for k in keypoints], dtype=np.float32)[order]
    cells = np.minimum(_GRID - 1, (points[:, 0] * _GRID / width).astype(int)) * _GRID + np.minimum(
        _GRID - 1, (points[:, 1] * _GRID / height).astype(int)
    )
    # rank of each keypoint within its cell, in order of strength
    by_cell = np.argsort(cells, kind="stable")
    sorted_cells = cells[by_cell]
    starts = np.searchsorted(sorted_cells, sorted_cells, side="left")
    rank = np.empty(len(cells), dtype=np.int64)
    rank[by_cell] = np.arange(len(cells)) - starts
    cap = max(4, (2 * count) // (_GRID * _GRID))
    within = rank < cap
    chosen = np.concatenate([order[within], order[~within]])
    return chosen[:count]


def describe(image: np.ndarray, max_side: int = QUERY_SIDE, count: int = QUERY_FEATURES, upscale: bool = True) -> Features:
    """ORB features of an RGB or gray image resized so its longer side is ``max_side``
    (small images are enlarged up to 2x: tiny uploads otherwise yield too few corners)."""
    gray = _gray(image)
    height, width = gray.shape[:2]
    scale = max_side / max(height, width)
    if not upscale:
        scale = min(scale, 1.0)
    scale = min(scale, 2.0)
    if abs(scale - 1.0) > 1e-3:
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    gray = _normalise(gray)
    keypoints, descriptors = _orb(count * 2).detectAndCompute(gray, None)
    if descriptors is None or not keypoints:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), gray.shape[1], gray.shape[0])
    keep = _spread(keypoints, count, gray.shape[1], gray.shape[0])
    points = np.array([keypoints[i].pt for i in keep], dtype=np.float32)
    return Features(points, descriptors[keep], gray.shape[1], gray.shape[0])


def describe_jpeg(jpeg: bytes, count: int = REFERENCE_FEATURES) -> Features | None:
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        return None
    return describe(gray, max_side=max(gray.shape[:2]), count=count, upscale=False)


class KeypointIndex:
    """ORB features of every ``full`` reference frame that has a stored JPEG."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.RLock()
        self._loaded = False
        self._applied = 0
        self._features: dict[int, Features] = {}  # frame id -> features (retrieval; verification of video frames)
        self._stills: set[int] = set()  # frames of still-image works
        self._detailed: OrderedDict[int, Features] = OrderedDict()  # LRU: verification features of stills
        self._work_of: dict[int, int] = {}  # frame id -> work id
        self._frames_of: dict[int, list[int]] = defaultdict(list)  # work id -> frame ids
        self._index = None
        self._descriptor_frames = np.zeros(0, dtype=np.int64)  # descriptor row -> frame id
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._trained_at = 0

    # -- loading and freshness ----------------------------------------------------
    def _load_frames(self, work_ids: list[int] | None) -> None:
        last_id = 0
        while True:
            with self.store.session() as session:
                query = (
                    select(ReferenceFrame.id, ReferenceFrame.work_id, FrameImage.jpeg, Work.kind)
                    .join(FrameImage, FrameImage.frame_id == ReferenceFrame.id)
                    .join(Work, Work.id == ReferenceFrame.work_id)
                    .where(ReferenceFrame.variant == "full", ReferenceFrame.id > last_id)
                    .order_by(ReferenceFrame.id)
                    .limit(2000)
                )
                if work_ids is not None:
                    query = query.where(ReferenceFrame.work_id.in_(work_ids))
                rows = list(session.execute(query))
            if not rows:
                break
            for frame_id, work_id, jpeg, kind in rows:
                self._add_frame(int(frame_id), int(work_id), describe_jpeg(jpeg))
                if kind == "image":
                    self._stills.add(int(frame_id))
            last_id = int(rows[-1][0])

    def _add_frame(self, frame_id: int, work_id: int, features: Features | None) -> None:
        if features is None or frame_id in self._features:
            return
        self._features[frame_id] = features
        self._work_of[frame_id] = work_id
        self._frames_of[work_id].append(frame_id)
        strongest = features.descriptors[:INDEX_FEATURES]  # ORB returns them strongest first
        if len(strongest):
            self._pending.append((strongest, np.full(len(strongest), frame_id, dtype=np.int64)))

    def _ensure(self) -> None:
        with self._lock:
            if not self._loaded:
                self._applied = self.store.latest_change()
                self._load_frames(None)
                self._loaded = True
                self._rebuild()
                return
            latest = self.store.latest_change()
            if latest > self._applied:
                self._replay()
            if self._pending:
                self._flush()

    def refresh(self) -> None:
        """Load on first use, then catch up with the store's change log (once per scan)."""
        self._ensure()

    def _loaded_or_load(self) -> None:
        if not self._loaded:
            self._ensure()

    def _replay(self) -> None:
        changes = self.store.changes_since(self._applied)
        last_action = {change.work_id: change.action for change in changes}
        removed = [w for w, action in last_action.items() if action == "remove" and w in self._frames_of]
        for work_id in removed:
            for frame_id in self._frames_of.pop(work_id, []):
                self._features.pop(frame_id, None)
                self._stills.discard(frame_id)
                self._detailed.pop(frame_id, None)
                self._work_of.pop(frame_id, None)
        added = [w for w, action in last_action.items() if action == "add" and w not in self._frames_of]
        if added:
            self._load_frames(added)
        if changes:
            self._applied = changes[-1].id
        if removed:
            self._rebuild()

    def _all_descriptors(self) -> tuple[np.ndarray, np.ndarray]:
        descriptors, frames = [], []
        for frame_id, features in self._features.items():
            strongest = features.descriptors[:INDEX_FEATURES]
            descriptors.append(strongest)
            frames.append(np.full(len(strongest), frame_id, dtype=np.int64))
        if not descriptors:
            return np.zeros((0, 32), np.uint8), np.zeros(0, np.int64)
        return np.concatenate(descriptors), np.concatenate(frames)

    def _rebuild(self) -> None:
        """(Re)build the faiss index from every frame's features."""
        self._pending = []
        descriptors, frames = self._all_descriptors()
        total = len(descriptors)
        if total >= IVF_THRESHOLD:
            cells = int(np.clip(4 * np.sqrt(total), 256, 16384))
            quantizer = faiss.IndexBinaryFlat(256)
            index = faiss.IndexBinaryIVF(quantizer, 256, cells)
            rng = np.random.default_rng(0)
            sample = descriptors[rng.choice(total, size=min(total, 40 * cells), replace=False)]
            index.train(np.ascontiguousarray(sample))
            index.nprobe = IVF_NPROBE
            self._quantizer = quantizer  # the index does not own it: keep it alive as long as the index
        else:
            index = faiss.IndexBinaryFlat(256)
        if total:
            index.add(np.ascontiguousarray(descriptors))
        self._index, self._descriptor_frames, self._trained_at = index, frames, total

    def _flush(self) -> None:
        descriptors = np.concatenate([d for d, _ in self._pending])
        frames = np.concatenate([f for _, f in self._pending])
        self._pending = []
        total = len(self._descriptor_frames) + len(descriptors)
        if (total >= IVF_THRESHOLD and not isinstance(self._index, faiss.IndexBinaryIVF)) or (
            isinstance(self._index, faiss.IndexBinaryIVF) and total > 2 * self._trained_at
        ):
            self._rebuild()
            return
        self._index.add(np.ascontiguousarray(descriptors))
        self._descriptor_frames = np.concatenate([self._descriptor_frames, frames])

    # -- queries ------------------------------------------------------------------
    def features(self, frame_id: int) -> Features | None:
        self._loaded_or_load()
        return self._features.get(frame_id)

    def verification_features(self, frame_id: int) -> list[Features]:
        """Feature sets to verify a pair with, cheapest first: the stored features, and
        for stills also their JPEG enlarged 2x: copies of a still are often crops or pans
        that show part of it large, and at 384 px a small part of a smooth drawing has too
        few corners (computed on demand, LRU-cached)."""
        self._loaded_or_load()
        native = self._features.get(frame_id)
        if native is None:
            return []
        if frame_id not in self._stills:
            return [native]
        with self._lock:
            cached = self._detailed.get(frame_id)
            if cached is not None:
                self._detailed.move_to_end(frame_id)
                return [native, cached]
        image = self.store.frame_images([frame_id]).get(frame_id)
        gray = cv2.imdecode(np.frombuffer(image.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE) if image is not None else None
        if gray is None:
            return [native]
        enlarged = cv2.resize(gray, (gray.shape[1] * STILL_DETAIL, gray.shape[0] * STILL_DETAIL), interpolation=cv2.INTER_CUBIC)
        detailed = describe(enlarged, max_side=max(enlarged.shape[:2]), count=REFERENCE_FEATURES, upscale=False)
        with self._lock:
            self._detailed[frame_id] = detailed
            while len(self._detailed) > DETAIL_CACHE:
                self._detailed.popitem(last=False)
        return [native, detailed]

    def is_still(self, frame_id: int) -> bool:
        self._loaded_or_load()
        return frame_id in self._stills

    def work_of(self, frame_id: int) -> int | None:
        return self._work_of.get(frame_id)

    def frames_of(self, work_id: int) -> list[int]:
        self._loaded_or_load()
        return list(self._frames_of.get(work_id, ()))

    def __len__(self) -> int:
        self._loaded_or_load()
        return len(self._features)

    def vote(self, query: Features, top: int) -> list[tuple[int, float]]:
        """Reference frames sharing the most close descriptors with ``query``: (frame id, votes).
        Each query descriptor votes once per frame among its nearest neighbours, weighted
        by closeness (1 at distance 0, 0.5 at ``VOTE_DISTANCE``)."""
        self._loaded_or_load()
        if self._index is None or self._index.ntotal == 0 or not len(query):
            return []
        with self._lock:
            k = min(VOTE_NEIGHBOURS, int(self._index.ntotal))
            distances, rows = self._index.search(np.ascontiguousarray(query.descriptors[:VOTE_FEATURES]), k)
            frames = self._descriptor_frames[np.clip(rows, 0, max(0, len(self._descriptor_frames) - 1))]
        valid = (rows >= 0) & (distances <= VOTE_DISTANCE)
        if not valid.any():
            return []
        row_of = np.broadcast_to(np.arange(len(rows))[:, None], rows.shape)[valid]
        frame_of = frames[valid]
        weight = 1.0 - distances[valid].astype(np.float64) / (2 * VOTE_DISTANCE)
        # one vote per (query descriptor, frame): keep the closest neighbour of each pair
        order = np.lexsort((-weight, frame_of, row_of))
        row_of, frame_of, weight = row_of[order], frame_of[order], weight[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (row_of[1:] != row_of[:-1]) | (frame_of[1:] != frame_of[:-1])
        unique_frames, inverse = np.unique(frame_of[first], return_inverse=True)
        totals = np.bincount(inverse, weights=weight[first])
        best = np.argsort(-totals, kind="stable")[:top]
        return [(int(unique_frames[i]), float(totals[i])) for i in best]

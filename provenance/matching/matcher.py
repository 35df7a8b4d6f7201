"""Match a query's frames against the store: retrieve, verify, align, score, decide.

1. Retrieval (cheap, bounded by the index): every query frame is hashed as uploaded and
   with uniform borders removed; each view looks up its nearest stored fingerprints,
   which include each reference's derived variants (mirror, borders removed, centred
   crops; see :mod:`views`). For images and a few frames of each clip, ORB descriptors
   also vote in the local-feature index (:mod:`keypoints`), which finds off-centre
   crops, rotations, screenshots and pans over a still that no global hash survives.
2. Short list: the best few works per frame by hash and by votes.
3. Exact hash distances of every query view against every stored variant of the
   short-listed works (vectorised popcount), per (query frame, reference frame).
4. Geometric verification (:mod:`verify`) of the most promising pairs, within a
   per-frame and per-file budget; pairs whose hashes are already decisive are not
   verified, except one per work to locate the matched region for the report.
5. Videos: matches are aligned in time (:mod:`alignment`); along each alignment line,
   and for a still shown in a clip, the frames not matched yet are verified against
   the predicted reference frame, which fills gaps and finds a copy's true ends.
   Frames still unexplained are searched densely inside the short-listed stills
   (:mod:`view_search`): pans and crops over smooth drawings have no corners to match.
6. One fused score per work (:mod:`scoring`), verdict from the thresholds, evidence.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

import cv2
import numpy as np

from provenance.fingerprint import FrameFingerprints, Fingerprinter
from provenance.matching import scoring
from provenance.matching.alignment import Line, SampleTimes, describe_line, fit_lines, segment_of, split_runs, still_runs
from provenance.matching.config import MatcherConfig
from provenance.matching.keypoints import QUERY_FEATURES, Features, KeypointIndex, describe
from provenance.matching.verify import Verification, verify
from provenance.matching.view_search import ViewMatch, find_view
from provenance.matching.views import TRIM_ROUNDS as TRIM_ROUNDS_STILL
from provenance.matching.views import content_box, is_mirrored, mirrored
from provenance.media.frames import Frame, MediaSample
from provenance.report.schema import FramePair, Match, Segment
from provenance.signals import Signal
from reference_db.indexes.base import FrameSearcher, IndexSpec
from reference_db.models import ReferenceFrame, Work
from reference_db.store import Store

__all__ = ["Matcher", "MatcherConfig", "index_spec"]

MAX_EVIDENCE_PAIRS = 8
KEYPOINT_FRAME_CHECKS = 3  # pairs verified per clip frame that was searched by keypoints
CLIP_FRAME_FEATURES = 700  # ORB features per clip frame (images: keypoints.QUERY_FEATURES)
ALIGN_PDQ = 60  # PDQ bits within which a frame's hash distances locate it in time
ALIGN_AMBIGUITY = 8  # PDQ bits within which other reference frames are as plausible a time
STRONG = 0.97  # hash evidence this strong needs no geometric check (one per work still runs, for the region)
HASH_SHORTLIST = 4  # works per query frame taken from hash retrieval
DECISIVE_VOTES = 15.0  # keypoint votes of a clear winner (random frames collect a few)
COMPETING = 0.5  # retrieval strength for which a frame already matched is checked against another work too
PLAUSIBLE = 0.45  # retrieval strength below which a clip frame's candidate is not verified speculatively
DECIDED_DISTANCE = {"pdq": 31.0, "phash": 3.0}  # a frame this close to a stored hash needs no other way in
REFERENCE_GRAY_CACHE = 512  # decoded reference JPEGs kept for the photometric check
VIEW_WORKS = 6  # short-listed stills searched densely for the frames nothing explained
VIEW_FRAMES = 6  # unexplained frames of a clip searched densely (spread over the clip)


def index_spec(signal: Signal) -> IndexSpec:
    model = signal.model_id if signal.index_kind == "cosine" else None
    return IndexSpec(signal.name, signal.index_kind, signal.dimension, signal.column, model)


# -- query side ----------------------------------------------------------------------
class _Query:
    """One query frame: its hash views and, on demand, its local features."""

    def __init__(self, frame: Frame, values: FrameFingerprints, hash_signals: list[Signal], feature_count: int = QUERY_FEATURES) -> None:
        self.frame = frame
        self.feature_count = feature_count
        self.index = frame.index
        self.time = frame.timestamp
        self.values = values
        self.views: dict[str, dict[str, bytes]] = {"full": {}}
        for signal in hash_signals:
            fingerprint = values.get(signal.name)
            if fingerprint is not None:
                self.views["full"][signal.name] = fingerprint.value
        pdq = values.get("pdq")
        self.pdq_quality = pdq.quality if pdq is not None else None
        self._hash_signals = hash_signals
        self._features: dict[bool, Features] = {}
        self._gray: dict[bool, np.ndarray] = {}

    def add_trimmed_view(self, rounds: int) -> bool:
        """Hash the frame with uniform borders removed; False when it has none."""
        box = content_box(self.frame.rgb, rounds)
        if box is None:
            return False
        inner = box.crop(self.frame.rgb)
        self.views["trim"] = {}
        for signal in self._hash_signals:
            computed = signal.compute([inner])[0]
            if computed is not None:
                self.views["trim"][signal.name] = computed.value
        return True

    def features(self, flipped: bool) -> Features:
        if flipped not in self._features:
            image = mirrored(self.frame.rgb) if flipped else self.frame.rgb
            self._features[flipped] = describe(image, count=self.feature_count)
        return self._features[flipped]

    def gray(self, flipped: bool) -> np.ndarray:
        if flipped not in self._gray:
            features = self.features(flipped)
            gray = cv2.cvtColor(self.frame.rgb, cv2.COLOR_RGB2GRAY)
            gray = cv2.resize(gray, (features.width, features.height), interpolation=cv2.INTER_AREA)
            self._gray[flipped] = np.ascontiguousarray(gray[:, ::-1]) if flipped else gray
        return self._gray[flipped]


def _decisive(ranked: list[tuple[int, float]]) -> bool:
    """Votes where one reference frame clearly leads (twice the runner-up, and at least
    ``DECISIVE_VOTES``)."""
    if not ranked or ranked[0][1] < DECISIVE_VOTES:
        return False
    return len(ranked) == 1 or ranked[0][1] >= 2 * ranked[1][1]


# -- reference side ------------------------------------------------------------------
@dataclass
class _WorkRows:
    """All stored rows of one work, arranged per sampled position."""

    work_id: int
    positions: list[int]
    full_ids: list[int | None]
    times: np.ndarray
    qualities: list[int | None]
    hashes: dict[str, tuple[np.ndarray, np.ndarray, list[str]]]  # signal -> (codes, position index, variant)
    clip: dict[int, np.ndarray] = field(default_factory=dict)  # position index -> embedding of the full row
    clip_model: dict[int, str | None] = field(default_factory=dict)

    @classmethod
    def build(cls, work_id: int, rows: list[ReferenceFrame], hash_signals: list[Signal]) -> "_WorkRows":
        positions = sorted({row.position for row in rows})
        slot = {position: i for i, position in enumerate(positions)}
        full_ids: list[int | None] = [None] * len(positions)
        times = np.zeros(len(positions))
        qualities: list[int | None] = [None] * len(positions)
        clip, clip_model = {}, {}
        for row in rows:
            i = slot[row.position]
            if row.variant == "full":
                full_ids[i], times[i], qualities[i] = row.id, row.timestamp, row.pdq_quality
                if row.clip is not None:
                    clip[i], clip_model[i] = row.clip, row.clip_model
        hashes = {}
        for signal in hash_signals:
            selected = [row for row in rows if signal.from_row(row) is not None]
            if not selected:
                continue
            codes = np.frombuffer(b"".join(signal.from_row(row) for row in selected), dtype=np.uint8).reshape(len(selected), -1)
            hashes[signal.name] = (codes, np.array([slot[row.position] for row in selected]), [row.variant for row in selected])
        return cls(work_id, positions, full_ids, times, qualities, hashes, clip, clip_model)

    def nearest_position(self, ref_time: float) -> int:
        return int(np.argmin(np.abs(self.times - ref_time)))


def _hamming_matrix(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances of packed bit codes (rows of uint8)."""
    out = np.empty((len(queries), len(references)), dtype=np.int32)
    step = max(1, 4_000_000 // max(1, references.size))
    for start in range(0, len(queries), step):
        block = np.bitwise_xor(queries[start : start + step, None, :], references[None, :, :])
        out[start : start + step] = np.bitwise_count(block).sum(axis=2, dtype=np.int32)
    return out


@dataclass
class _HashEvidence:
    """Per (query frame, reference position): best distance per hash signal, and which
    reference variant gave the best PDQ distance."""

    distances: dict[str, np.ndarray]  # signal -> [n_queries, n_positions]
    pdq_variant: np.ndarray | None  # [n_queries, n_positions] of variant names (object)


@dataclass
class _PairState:
    query: int  # query frame index
    position: int  # position index within the work
    verification: Verification | None = None
    view: ViewMatch | None = None  # dense placement inside a still, when searched
    flipped: bool = False
    channels: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    retrieval: float = 0.0  # how strongly retrieval proposed the pair (orders verification)


class Matcher:
    def __init__(self, store: Store, searcher: FrameSearcher, fingerprinter: Fingerprinter, config: MatcherConfig) -> None:
        self.store, self.searcher, self.fingerprinter, self.config = store, searcher, fingerprinter, config
        self.keypoints = KeypointIndex(store) if config.keypoints else None
        self._gray_cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._rows_cache: dict[int, _WorkRows] = {}
        self._rows_change = -1
        self._lock = threading.Lock()

    # -- public ---------------------------------------------------------------------
    def match(self, sample: MediaSample, fingerprints: list[FrameFingerprints], top: int) -> list[Match]:
        run = _Scan(self, sample, fingerprints)
        return run.matches(top)

    def warm(self) -> None:
        if self.keypoints is not None:
            self.keypoints.frames_of(0)

    # -- store access with caching --------------------------------------------------------
    def work_rows(self, work_ids: list[int]) -> dict[int, _WorkRows]:
        hash_signals = [s for s in self.fingerprinter.active if s.index_kind == "hamming"]
        with self._lock:
            latest = self.store.latest_change()
            if latest != self._rows_change:
                self._rows_cache.clear()
                self._rows_change = latest
            missing = [w for w in work_ids if w not in self._rows_cache]
        for work_id in missing:
            rows = self.store.frames_of_work(work_id)
            if rows:
                built = _WorkRows.build(work_id, rows, hash_signals)
                with self._lock:
                    self._rows_cache[work_id] = built
        with self._lock:
            return {w: self._rows_cache[w] for w in work_ids if w in self._rows_cache}

    def reference_gray(self, frame_ids: list[int]) -> dict[int, np.ndarray]:
        with self._lock:
            missing = [f for f in frame_ids if f not in self._gray_cache]
        loaded = {}
        if missing:
            for frame_id, image in self.store.frame_images(missing).items():
                gray = cv2.imdecode(np.frombuffer(image.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
                if gray is not None:
                    loaded[frame_id] = gray
        with self._lock:
            for frame_id, gray in loaded.items():
                self._gray_cache[frame_id] = gray
            out = {}
            for frame_id in frame_ids:
                if frame_id in self._gray_cache:
                    self._gray_cache.move_to_end(frame_id)
                    out[frame_id] = self._gray_cache[frame_id]
            while len(self._gray_cache) > REFERENCE_GRAY_CACHE:
                self._gray_cache.popitem(last=False)
            return out


class _Scan:
    """The state of matching one sample."""

    def __init__(self, matcher: Matcher, sample: MediaSample, fingerprints: list[FrameFingerprints]) -> None:
        self.m = matcher
        self.config = matcher.config
        self.sample = sample
        self.signals = {s.name: s for s in matcher.fingerprinter.active}
        self.hash_signals = [s for s in matcher.fingerprinter.active if s.index_kind == "hamming"]
        self.clip = next((s for s in matcher.fingerprinter.active if s.index_kind == "cosine"), None)
        self.is_video = sample.kind == "video"
        count = CLIP_FRAME_FEATURES if self.is_video else QUERY_FEATURES  # a clip has many frames to describe
        self.queries = [_Query(frame, values, self.hash_signals, count) for frame, values in zip(sample.frames, fingerprints)]
        self.budget = self.config.verify_budget
        # the view search needs the keypoint index's list of stills: off in hash-only mode
        self.view_budget = self.config.view_budget if self.config.view_search and self.config.keypoints else 0
        self.placed: dict[tuple[int, int], ViewMatch | None] = {}  # (query, frame id) -> dense view search
        self.verified: dict[tuple[int, int, bool, int], Verification] = {}  # (query, frame id, flipped, feature set)
        self.votes: dict[int, dict[int, tuple[float, float]]] = {}  # query -> frame id -> (votes, mirrored votes)
        self.decided: set[int] = set()  # query frames with a near-certain hash match
        self.keypoints = matcher.keypoints if self.config.keypoints else None

    # -- 1-2: retrieval and short list -----------------------------------------------------
    def _hash_candidates(self) -> dict[int, dict[int, float]]:
        """query -> work -> retrieval strength (0..1) from the hash (and CLIP) indexes.

        Frames are looked up as uploaded first; only those without a near-certain match
        are then hashed again with their borders removed (that costs a hash per frame)."""
        found: dict[int, dict[int, float]] = defaultdict(dict)
        self._search_views(found, ["full"], self.queries)
        undecided = [q for q in self.queries if q.index not in self.decided]
        rounds = 1 if self.is_video else TRIM_ROUNDS_STILL
        trimmed = [q for q in undecided if q.add_trimmed_view(rounds)]
        self._search_views(found, ["trim"], trimmed)
        if self.clip is not None:
            entries = [(q.index, q.values[self.clip.name].value) for q in self.queries if q.values.get(self.clip.name) is not None]
            if entries:
                results = self.m.searcher.search(index_spec(self.clip), [v for _, v in entries], self.config.neighbors)
                for (query, _), neighbours in zip(entries, results):
                    for n in neighbours:
                        strength = max(0.0, 1.0 - n.distance / 0.5)
                        if strength > found[query].get(n.work_id, 0.0):
                            found[query][n.work_id] = strength
        return found

    def _search_views(self, found: dict[int, dict[int, float]], names: list[str], queries: list[_Query]) -> None:
        scale = {"pdq": 128.0, "phash": 32.0}
        for signal in self.hash_signals:
            entries = [(q.index, q.views[name][signal.name]) for q in queries for name in names if signal.name in q.views.get(name, {})]
            if not entries:
                continue
            results = self.m.searcher.search(index_spec(signal), [value for _, value in entries], self.config.neighbors)
            for (query, _), neighbours in zip(entries, results):
                for n in neighbours:
                    strength = max(0.0, 1.0 - n.distance / scale.get(signal.name, signal.dimension / 2))
                    if strength > found[query].get(n.work_id, 0.0):
                        found[query][n.work_id] = strength
                    if n.distance <= DECIDED_DISTANCE.get(signal.name, -1.0):
                        self.decided.add(query)

    def _keypoint_frames(self, by_hash: dict[int, dict[int, float]]) -> list[_Query]:
        """Frames to search in the keypoint index: evenly spread over the clip, among the
        frames whose hashes found no near-certain match (PDQ <= 31 or pHash <= 3 bits)."""
        open_frames = [q for q in self.queries if q.index not in self.decided]
        count = len(open_frames)
        budget = max(self.config.keypoint_frames, -(-count // 4))  # at least one open frame in four
        if count <= budget:
            return open_frames
        picks = np.unique(np.linspace(0, count - 1, budget).round().astype(int))
        return [open_frames[i] for i in picks]

    def _keypoint_candidates(self, by_hash: dict[int, dict[int, float]]) -> dict[int, dict[int, float]]:
        """query -> work -> votes of its best frame, for the frames searched by keypoints."""
        found: dict[int, dict[int, float]] = defaultdict(dict)
        if self.keypoints is None or len(self.keypoints) == 0:
            return found
        for query in self._keypoint_frames(by_hash):
            per_frame: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
            for flipped in (False, True):
                ranked = self.keypoints.vote(query.features(flipped), top=self.config.candidates * 3)
                for frame_id, votes in ranked:
                    per_frame[frame_id][int(flipped)] = votes
                if not flipped and _decisive(ranked):
                    break  # one frame stands out: no need to look for a mirrored copy
            self.votes[query.index] = {f: (v[0], v[1]) for f, v in per_frame.items()}
            for frame_id, (plain, flipped) in self.votes[query.index].items():
                work_id = self.keypoints.work_of(frame_id)
                if work_id is not None:
                    found[query.index][work_id] = max(found[query.index].get(work_id, 0.0), plain, flipped)
        return found

    def _shortlist(self, by_hash, by_votes) -> list[int]:
        """Works to score: each frame proposes its best few by hash and by keypoint votes
        (rank 1 counts 1, rank 2 a half, ...); a work's priority is the sum over frames of
        its best proposal, so a work that recurs through a clip outranks one-frame flukes."""
        chosen: dict[int, float] = defaultdict(float)
        for query in self.queries:
            proposals: dict[int, float] = {}
            hashed = sorted(by_hash.get(query.index, {}).items(), key=lambda item: -item[1])[:HASH_SHORTLIST]
            voted = sorted(by_votes.get(query.index, {}).items(), key=lambda item: -item[1])[: self.config.candidates - HASH_SHORTLIST + 2]
            for rank, (work_id, strength) in enumerate(hashed):
                proposals[work_id] = max(proposals.get(work_id, 0.0), 1.0 / (1 + rank) + strength)
            for rank, (work_id, _) in enumerate(voted):
                proposals[work_id] = max(proposals.get(work_id, 0.0), 1.0 / (1 + rank))
            for work_id, priority in proposals.items():
                chosen[work_id] += priority
        limit = self.config.candidates * (2 if self.is_video else 1) + 2
        return [w for w, _ in sorted(chosen.items(), key=lambda item: (-item[1], item[0]))[:limit]]

    # -- 3: exact hash distances -------------------------------------------------------------
    def _hash_evidence(self, rows: _WorkRows) -> _HashEvidence:
        n_q, n_p = len(self.queries), len(rows.positions)
        distances: dict[str, np.ndarray] = {}
        pdq_variant = None
        for signal in self.hash_signals:
            if signal.name not in rows.hashes:
                continue
            codes, position_index, variants = rows.hashes[signal.name]
            owners, values = [], []
            for q in self.queries:
                for view in q.views.values():
                    if signal.name in view:
                        owners.append(q.index)
                        values.append(view[signal.name])
            if not values:
                continue
            query_codes = np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), -1)
            matrix = _hamming_matrix(query_codes, codes)  # [views, rows]
            best = np.full((n_q, n_p), 10**6, dtype=np.int32)
            owner = np.array(owners)
            flat_q = np.repeat(owner, matrix.shape[1])
            flat_p = np.tile(position_index, matrix.shape[0])
            np.minimum.at(best, (flat_q, flat_p), matrix.ravel())
            distances[signal.name] = best
            if signal.name == "pdq":
                variant_names = np.array(variants, dtype=object)
                pdq_variant = np.full((n_q, n_p), "full", dtype=object)
                hit = matrix == best[owner][:, position_index]
                for v_row, r_col in zip(*np.nonzero(hit)):
                    pdq_variant[owner[v_row], position_index[r_col]] = variant_names[r_col]
        return _HashEvidence(distances, pdq_variant)

    def _hash_channels(self, evidence: _HashEvidence, rows: _WorkRows, q: int, p: int) -> dict[str, float]:
        channels: dict[str, float] = {}
        if "pdq" in evidence.distances and evidence.distances["pdq"][q, p] < 10**6:
            qualities = [x for x in (self.queries[q].pdq_quality, rows.qualities[p]) if x is not None]
            channels["pdq"] = scoring.pdq_score(float(evidence.distances["pdq"][q, p]), min(qualities) if qualities else None)
        if "phash" in evidence.distances and evidence.distances["phash"][q, p] < 10**6:
            channels["phash"] = scoring.phash_score(float(evidence.distances["phash"][q, p]))
        clip_distance = self._clip_distance(rows, q, p)
        if clip_distance is not None:
            channels["clip"] = scoring.clip_score(clip_distance)
        return channels

    def _clip_distance(self, rows: _WorkRows, q: int, p: int) -> float | None:
        if self.clip is None or p not in rows.clip or rows.clip_model.get(p) != self.clip.model_id:
            return None
        value = self.queries[q].values.get(self.clip.name)
        return None if value is None else float(self.clip.distance(value.value, rows.clip[p]))

    # -- 4: verification --------------------------------------------------------------------
    def _orientation(self, q: int, frame_id: int, hint_variant: str | None, work_flip: bool | None) -> list[bool]:
        votes = self.votes.get(q, {}).get(frame_id)
        if votes is not None and max(votes) > 0:
            first = votes[1] > votes[0]
        elif hint_variant is not None and is_mirrored(hint_variant):
            first = True
        elif work_flip is not None:
            first = work_flip
        else:
            first = False
        if self.is_video and work_flip is not None:
            return [first]
        return [first, not first]

    def _verify(self, q: int, frame_id: int, orientations: list[bool]) -> tuple[Verification | None, bool]:
        """Best verification over the given orientations and the reference's feature sets
        (a still has two: its 384-px JPEG as stored, and enlarged 2x for copies that show
        part of it large); stops at the first convincing one."""
        if self.keypoints is None:
            return None, False
        references = self.keypoints.verification_features(frame_id)
        if not references:
            return None, False
        best: tuple[Verification | None, bool] = (None, False)
        query = self.queries[q]
        for flipped in orientations:
            enough_correspondences = False
            for scale, reference in enumerate(references):
                key = (q, frame_id, flipped, scale)
                if key not in self.verified:
                    if self.budget <= 0:
                        return best
                    self.budget -= 1
                    gray = self.m.reference_gray([frame_id]).get(frame_id)
                    self.verified[key] = verify(query.features(flipped), reference, query.gray(flipped), gray)
                result = self.verified[key]
                if best[0] is None or (result.ok and (not best[0].ok or result.inliers > best[0].inliers)):
                    best = (result, flipped)
                if result.ok and scoring.geometry_score(result.inliers, result.ncc) >= 0.5:
                    return best
                enough_correspondences |= result.tentative >= 40
            if enough_correspondences:  # plenty of correspondences: the orientation was not the problem
                break
        return best

    # -- pairs, per work --------------------------------------------------------------------
    def _score(self, state: _PairState, evidence: _HashEvidence, rows: _WorkRows) -> None:
        channels = self._hash_channels(evidence, rows, state.query, state.position)
        v = state.verification
        if v is not None and v.ok:
            channels["geometry"] = scoring.geometry_score(v.inliers, v.ncc)
        if state.view is not None:
            channels["view"] = scoring.view_score(state.view.ncc, state.view.edge_ncc, state.view.runner_up)
        state.channels = channels
        state.score = scoring.fuse(channels)

    def _work_pairs(self, rows: _WorkRows, evidence: _HashEvidence) -> dict[tuple[int, int], _PairState]:
        """Initial pairs: for each query frame, its best positions by hash and by votes."""
        states: dict[tuple[int, int], _PairState] = {}
        n_p = len(rows.positions)
        frame_slot = {frame_id: i for i, frame_id in enumerate(rows.full_ids) if frame_id is not None}
        for query in self.queries:
            q = query.index
            candidates: dict[int, float] = {}
            if "pdq" in evidence.distances or "phash" in evidence.distances:
                combined = np.zeros(n_p)
                for name, scale in (("pdq", 128.0), ("phash", 32.0)):
                    if name in evidence.distances:
                        combined = np.maximum(combined, 1.0 - evidence.distances[name][q] / scale)
                for p in np.argsort(-combined)[:2]:
                    candidates[int(p)] = float(combined[p])
            votes = self.votes.get(q, {})
            if votes:
                most = max(max(v) for v in votes.values()) or 1.0
                for frame_id, counts in sorted(votes.items(), key=lambda item: -max(item[1]))[:3]:
                    if frame_id in frame_slot:
                        p = frame_slot[frame_id]
                        candidates[p] = max(candidates.get(p, 0.0), max(counts) / most)
            for p, strength in candidates.items():
                state = _PairState(q, p, retrieval=strength)
                self._score(state, evidence, rows)
                states[(q, p)] = state
        return states

    def _verify_pair(self, state: _PairState, rows: _WorkRows, evidence: _HashEvidence, work_flip: bool | None) -> bool:
        frame_id = rows.full_ids[state.position]
        if frame_id is None:
            return False
        hint = evidence.pdq_variant[state.query, state.position] if evidence.pdq_variant is not None else None
        result, flipped = self._verify(state.query, frame_id, self._orientation(state.query, frame_id, hint, work_flip))
        if result is not None:
            state.verification, state.flipped = result, flipped
            self._score(state, evidence, rows)
        if state.channels.get("geometry", 0.0) < 0.5:
            self._place_in_still(state, rows, evidence)
        return result is not None or state.view is not None

    def _place_in_still(self, state: _PairState, rows: _WorkRows, evidence: _HashEvidence) -> None:
        """Dense search of the query frame inside a still that local features could not
        confirm (within the per-file budget; a no-op for video references)."""
        frame_id = rows.full_ids[state.position]
        if frame_id is None or self.keypoints is None or not self.keypoints.is_still(frame_id):
            return
        key = (state.query, frame_id)
        if key not in self.placed:
            if self.view_budget <= 0:
                return
            self.view_budget -= 1
            reference = self.m.reference_gray([frame_id]).get(frame_id)
            self.placed[key] = find_view(self.queries[state.query].gray(False), reference) if reference is not None else None
        if self.placed[key] is not None and state.view is None:
            state.view = self.placed[key]
            self._score(state, evidence, rows)

    def _work_flip(self, states: dict[tuple[int, int], _PairState]) -> bool | None:
        verified = [s for s in states.values() if s.verification is not None and s.verification.ok and s.channels.get("geometry", 0) >= 0.5]
        if not verified:
            return None
        return sum(s.flipped for s in verified) * 2 > len(verified)

    def _verification_pass(self, prepared: list[tuple[Work, _WorkRows, _HashEvidence, dict]]) -> None:
        """Verify the most promising pairs first, across all short-listed works, at most
        ``per_frame`` pairs per query frame; pairs the hashes already decide are skipped,
        except one per work, verified last, that locates the matched region."""
        per_frame = self.config.verify_per_frame if self.is_video else max(self.config.verify_per_frame, self.config.candidates)
        decided = {state.query for _, _, _, states in prepared for state in states.values() if state.score >= STRONG}
        queue = []
        for slot, (_, rows, _, states) in enumerate(prepared):
            for state in states.values():
                if state.score >= STRONG:
                    continue
                priority = max(state.score, state.retrieval)
                # a frame the hashes already matched, or a clip frame with nothing resembling
                # it, gets no speculative checks: propagation along alignments covers gaps
                if (state.query in decided or self.is_video) and priority < (COMPETING if state.query in decided else PLAUSIBLE):
                    continue
                queue.append((-priority, slot, state.query, state.position))
        queue.sort()
        done: dict[int, int] = defaultdict(int)
        for _, slot, q, p in queue:
            if self.budget <= 0:
                break
            # frames searched by keypoints verify their whole vote short list
            if done[q] >= (max(per_frame, KEYPOINT_FRAME_CHECKS) if q in self.votes else per_frame):
                continue
            work, rows, evidence, states = prepared[slot]
            if self._verify_pair(states[(q, p)], rows, evidence, self._work_flip(states)):
                done[q] += 1
        for work, rows, evidence, states in prepared:
            located = any(s.verification is not None and s.verification.ok for s in states.values())
            strong = [s for s in states.values() if s.score >= STRONG]
            if strong and not located and self.budget > 0:
                self._verify_pair(max(strong, key=lambda s: s.score), rows, evidence, self._work_flip(states))

    def _view_pass(self, prepared: list[tuple[Work, _WorkRows, _HashEvidence, dict]]) -> None:
        """Frames no work explains yet (a pan or crop over a smooth drawing has neither
        corners nor a global hash in common with it) are searched densely inside the
        best short-listed stills; propagation then grows any placement along the clip."""
        if self.view_budget <= 0:
            return
        best: dict[int, float] = defaultdict(float)
        for _, _, _, states in prepared:
            for state in states.values():
                best[state.query] = max(best[state.query], state.score)
        unexplained = [q.index for q in self.queries if best[q.index] < self.config.thresholds.similar]
        if not unexplained:
            return
        picks = [unexplained[i] for i in np.unique(np.linspace(0, len(unexplained) - 1, VIEW_FRAMES).round().astype(int))]
        stills = [item for item in prepared if item[0].kind == "image"][:VIEW_WORKS]
        for _, rows, evidence, states in stills:
            for q in picks:
                state = states.get((q, 0))
                if state is None:
                    state = states[(q, 0)] = _PairState(q, 0)
                    self._score(state, evidence, rows)
                self._place_in_still(state, rows, evidence)

    def _propagate(self, work: Work, rows, evidence, states) -> None:
        """Grow matches along time: the query frames next to matched ones (and in gaps
        between them) are verified against the reference frame the alignment predicts
        (for a still: the still itself), round after round until nothing new matches.
        The cost follows the copied stretch, not the clip's length."""
        threshold = self.config.thresholds
        tried: set[tuple[int, int]] = set()
        last = len(self.queries) - 1
        for _ in range(len(self.queries) + 1):
            good = [s for s in states.values() if s.score >= threshold.similar]
            if not good or self.budget <= 0:
                return
            best_per_query: dict[int, float] = defaultdict(float)
            for state in states.values():
                best_per_query[state.query] = max(best_per_query[state.query], state.score)
            targets: list[tuple[int, int]] = []
            if work.kind == "image":
                matched = {s.query for s in good}
                near = {n for q in matched for n in (q - 1, q + 1) if 0 <= n <= last}
                targets = [(q, 0) for q in sorted(near) if best_per_query[q] < threshold.match]
            else:
                pairs, weights = self._alignment_points(good, rows, evidence)
                for line in fit_lines(pairs, self.config.alignment, weights=weights):
                    members = sorted(p.query_index for p in line.members)
                    span = set(range(max(0, members[0] - 1), min(last, members[-1] + 1) + 1))
                    for q in sorted(span):
                        if best_per_query[q] >= threshold.match:
                            continue
                        predicted = line.predict(self.queries[q].time)
                        if -0.5 <= predicted <= float(rows.times.max()) + 1.5:
                            targets.append((q, rows.nearest_position(predicted)))
            targets = [t for t in targets if t not in tried]
            if not targets:
                return
            flip = self._work_flip(states)
            for q, p in targets:
                tried.add((q, p))
                if self.budget <= 0:
                    return
                state = states.get((q, p))
                if state is None:
                    state = states[(q, p)] = _PairState(q, p)
                    self._score(state, evidence, rows)
                if state.verification is None:
                    self._verify_pair(state, rows, evidence, flip)

    def _frame_pair(self, state: _PairState, rows: _WorkRows) -> FramePair:
        query = self.queries[state.query]
        distances = {}
        return FramePair(
            query_index=query.index,
            query_time=query.time,
            ref_frame_id=rows.full_ids[state.position] or -1,
            ref_time=float(rows.times[state.position]),
            distances=distances,
            score=round(state.score, 4),
            region=self._region(state),
        )

    def _region(self, state: _PairState) -> list[list[float]] | None:
        """Where the query frame sits in the reference: from the homography of verified
        local features or from the dense placement in a still, whichever is the stronger evidence."""
        geometry, view = state.channels.get("geometry", 0.0), state.channels.get("view", 0.0)
        if state.verification is not None and state.verification.ok and geometry >= view:
            return state.verification.region
        if state.view is not None and view >= self.config.thresholds.similar:
            return state.view.region
        return None

    def _alignment_points(self, states: list[_PairState], rows: _WorkRows, evidence: _HashEvidence) -> tuple[list[FramePair], list[float]]:
        """(query time, reference time) points to align, with their weights.

        Where a query frame's hashes match this work, its reference time comes from the
        hash distances to every reference frame: the nearest frame, moved towards its
        better neighbour in proportion to the two distances (references are sampled
        once a second; a frame equally far from both lies half-way). Verification does
        not pin timing down as well: a neighbouring frame of a moving shot verifies
        too. Frames the hashes miss (crops, pans) use their verified pairs, weighted by
        inliers relative to the frame's best."""
        pdq = evidence.distances.get("pdq")
        by_query: dict[int, list[_PairState]] = defaultdict(list)
        for state in states:
            by_query[state.query].append(state)
        pairs, weights = [], []
        for q, members in by_query.items():
            best = max(members, key=lambda s: s.score)
            row = pdq[q] if pdq is not None else None
            if row is not None and row.min() <= ALIGN_PDQ:
                # every reference frame about as close as the closest one is a candidate
                # time (static shots, slow zooms): the line through the clip picks among them
                nearest = np.argsort(row, kind="stable")[:4]
                for p in (int(p) for p in nearest if row[p] <= row.min() + ALIGN_AMBIGUITY):
                    pair = self._frame_pair(best, rows)
                    pair.ref_frame_id = rows.full_ids[p] or -1
                    pair.ref_time = self._interpolated_time(row, p, rows)
                    pairs.append(pair)
                    weights.append(best.score * (1.0 - 0.5 * float(row[p] - row.min()) / ALIGN_AMBIGUITY))
                continue
            verified = [s for s in members if s.verification is not None and s.verification.ok and s.score >= self.config.thresholds.similar]
            if verified:
                # inlier-weighted time of the verified frames around the best one: a query frame
                # half-way between two reference samples overlaps both about equally
                top = max(verified, key=lambda s: (s.verification.inliers, s.score))
                t_top = float(rows.times[top.position])
                near = [s for s in verified if abs(float(rows.times[s.position]) - t_top) <= 1.5]
                total = float(sum(s.verification.inliers for s in near))
                pair = self._frame_pair(top, rows)
                pair.ref_time = sum(float(rows.times[s.position]) * s.verification.inliers for s in near) / total
                pairs.append(pair)
                weights.append(top.score)
            else:
                pairs.extend(self._frame_pair(state, rows) for state in members)
                weights.extend(state.score for state in members)
        return pairs, weights

    @staticmethod
    def _interpolated_time(row: np.ndarray, p: int, rows: _WorkRows) -> float:
        t = float(rows.times[p])
        neighbours = [n for n in (p - 1, p + 1) if 0 <= n < len(rows.times) and abs(rows.times[n] - t) <= 1.5 and row[n] < 10**6]
        if not neighbours:
            return t
        n = min(neighbours, key=lambda k: row[k])
        total = float(row[p] + row[n])
        return t + (float(rows.times[n]) - t) * float(row[p]) / total if total > 0 else t

    def _with_distances(self, pair: FramePair, state: _PairState, rows: _WorkRows, evidence: _HashEvidence) -> FramePair:
        for name, matrix in evidence.distances.items():
            value = matrix[state.query, state.position]
            if value < 10**6:
                pair.distances[name] = float(value)
        clip_distance = self._clip_distance(rows, state.query, state.position)
        if clip_distance is not None:
            pair.distances["clip"] = round(clip_distance, 4)
        return pair

    # -- 5-6: per work decision ---------------------------------------------------------------
    def matches(self, top: int) -> list[Match]:
        if not self.queries:
            return []
        if self.keypoints is not None:
            self.keypoints.refresh()
        by_hash = self._hash_candidates()
        by_votes = self._keypoint_candidates(by_hash)
        shortlist = self._shortlist(by_hash, by_votes)
        if not shortlist:
            return []
        works = self.m.store.works_by_id(shortlist)
        all_rows = self.m.work_rows([w for w in shortlist if w in works])
        prepared = []
        for work_id in shortlist:
            if work_id in all_rows:
                rows = all_rows[work_id]
                evidence = self._hash_evidence(rows)
                prepared.append((works[work_id], rows, evidence, self._work_pairs(rows, evidence)))
        self._verification_pass(prepared)
        self._view_pass(prepared)
        if self.is_video:  # strongest works first: they get the propagation budget first
            for work, rows, evidence, states in sorted(prepared, key=lambda item: -max((s.score for s in item[3].values()), default=0.0)):
                self._propagate(work, rows, evidence, states)
        results = [self._decide(work, rows, evidence, states) for work, rows, evidence, states in prepared]
        results.sort(key=lambda m: (-m.score, m.work_id))
        return results[:top]

    def _decide(self, work: Work, rows: _WorkRows, evidence: _HashEvidence, states: dict[tuple[int, int], _PairState]) -> Match:
        thresholds = self.config.thresholds
        best: dict[int, _PairState] = {}
        for state in states.values():
            if state.query not in best or state.score > best[state.query].score:
                best[state.query] = state
        frame_scores = sorted((s.score for s in best.values()), reverse=True)
        segments: list[Segment] = []
        lines: list[Line] = []
        if not self.is_video:
            state = max(best.values(), key=lambda s: s.score)
            score = state.score
            if score >= thresholds.similar:
                t = float(rows.times[state.position])
                segments = [Segment(0.0, 0.0, round(t, 3), round(t, 3), round(score, 4))]
        else:
            samples = SampleTimes([q.time for q in self.queries], [q.frame.reason == "scene_cut" for q in self.queries], self.sample.duration)
            kept = [s for s in states.values() if s.score >= thresholds.similar]
            candidates = [self._frame_pair(s, rows) for s in kept]
            n = len(self.queries)
            if work.kind == "image":
                for run in still_runs(candidates, self.config.alignment):
                    run_score = scoring.combine_frames([p.score for p in run], n)
                    segments.append(segment_of(run, None, samples, 0.0, run_score, self.config.alignment))
            else:
                points, weights = self._alignment_points(kept, rows, evidence)
                lines = fit_lines(points, self.config.alignment, weights=weights)
                for line in lines:
                    for run in split_runs(line.members, self.config.alignment.max_gap):
                        run_score = scoring.combine_frames([p.score for p in run], n)
                        segments.append(segment_of(run, line, samples, work.duration, run_score, self.config.alignment))
            segments = [s for s in segments if s.score >= thresholds.similar]
            segments.sort(key=lambda s: (-s.score, s.query_start))
            score = segments[0].score if segments else scoring.combine_frames(frame_scores[:1], n)
        score = round(min(1.0, max(0.0, score)), 4)
        pairs = [self._with_distances(self._frame_pair(s, rows), s, rows, evidence) for s in best.values()]
        # a work the scan rejects keeps one pair to show why; matches show up to 8
        shown = MAX_EVIDENCE_PAIRS if thresholds.verdict(score) != "no_match" else 1
        evidence_pairs = sorted(pairs, key=lambda p: (-p.score, p.query_time))[:shown]
        return Match(
            work_id=work.id,
            title=work.title,
            holder=work.holder.name,
            score=score,
            verdict=thresholds.verdict(score),
            segments=segments,
            evidence=self._evidence(best, pairs, rows, evidence, lines),
            kind=work.kind,
            opt_out={"train": work.opt_out_train, "generate": work.opt_out_generate},
            frame_pairs=evidence_pairs,
        )

    def _evidence(self, best: dict[int, _PairState], pairs: list[FramePair], rows, evidence: _HashEvidence, lines: list[Line]) -> dict:
        thresholds = self.config.thresholds
        per_signal: dict[str, dict] = {}
        for name, signal in self.signals.items():
            distances = [p.distances[name] for p in pairs if name in p.distances]
            if distances:
                smallest = min(distances)
                per_signal[name] = {
                    "best_distance": smallest,
                    "threshold": signal.default_threshold,
                    "similarity": round(signal.similarity(smallest), 4),
                    "frames_within_threshold": sum(d <= signal.default_threshold for d in distances),
                }
        verified = [s for s in best.values() if s.verification is not None]
        geometry = None
        if verified:
            top = max(verified, key=lambda s: (s.verification.ok, s.verification.inliers))
            v = top.verification
            geometry = {
                "best_inliers": v.inliers if v.ok else 0,
                "correspondences": v.tentative,
                "ncc": round(v.ncc, 3),
                "mirrored": top.flipped,
                "region": v.region if v.ok else None,
                "frames_verified": sum(1 for s in verified if s.verification.ok and s.channels.get("geometry", 0) >= 0.5),
            }
        placed = [s for s in best.values() if s.view is not None and s.channels.get("view", 0.0) >= thresholds.similar]
        view = None
        if placed:
            top_view = max(placed, key=lambda s: s.channels["view"])
            view = {
                "ncc": top_view.view.ncc,
                "edge_ncc": top_view.view.edge_ncc,
                "runner_up": top_view.view.runner_up,
                "share": top_view.view.share,
                "region": self._region(top_view),
                "frames_placed": len(placed),
            }
        channels: dict[str, float] = {}
        for state in best.values():
            for name, value in state.channels.items():
                channels[name] = round(max(channels.get(name, 0.0), value), 4)
        verification = []
        for state in sorted(verified, key=lambda s: -s.score)[:MAX_EVIDENCE_PAIRS]:
            v = state.verification
            verification.append(
                {
                    "query_index": state.query,
                    "ref_frame_id": rows.full_ids[state.position],
                    "inliers": v.inliers if v.ok else 0,
                    "correspondences": v.tentative,
                    "ncc": round(v.ncc, 3),
                    "mirrored": state.flipped,
                    "region": v.region if v.ok else None,
                }
            )
        variants = sorted(
            {
                str(evidence.pdq_variant[s.query, s.position])
                for s in best.values()
                if evidence.pdq_variant is not None and s.channels.get("pdq", 0) >= 0.5
            }
        )
        return {
            "signals": per_signal,
            "channels": channels,
            "geometry": geometry,
            "view": view,
            "verification": verification,
            "hash_variants": variants,
            "alignment": [describe_line(line) for line in lines],
            "matched_query_frames": sum(1 for s in best.values() if s.score >= thresholds.match),
            "query_frames": len(self.queries),
        }

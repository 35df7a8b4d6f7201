"""Match a query's frame fingerprints against the store and score each candidate work."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from provenance.fingerprint import FrameFingerprints, Fingerprinter
from provenance.matching.alignment import AlignmentConfig, align
from provenance.matching.scoring import Thresholds, pair_score
from provenance.media.frames import MediaSample
from provenance.report.schema import FramePair, Match, Segment
from provenance.signals import Signal
from reference_db.indexes.base import FrameSearcher, IndexSpec
from reference_db.models import ReferenceFrame, Work
from reference_db.store import Store

MAX_EVIDENCE_PAIRS = 8


def index_spec(signal: Signal) -> IndexSpec:
    model = signal.model_id if signal.index_kind == "cosine" else None
    return IndexSpec(signal.name, signal.index_kind, signal.dimension, signal.column, model)


@dataclass
class MatcherConfig:
    neighbors: int = 10  # per signal and query frame: bounds cost as the store grows
    thresholds: Thresholds = field(default_factory=Thresholds)
    alignment: AlignmentConfig = field(default_factory=AlignmentConfig)


class Matcher:
    def __init__(self, store: Store, searcher: FrameSearcher, fingerprinter: Fingerprinter, config: MatcherConfig) -> None:
        self.store, self.searcher, self.fingerprinter, self.config = store, searcher, fingerprinter, config

    def match(self, sample: MediaSample, fingerprints: list[FrameFingerprints], top: int) -> list[Match]:
        candidates = self._retrieve(fingerprints)
        if not candidates:
            return []
        references = self.store.frames_by_id(sorted({frame_id for _, frame_id in candidates}))
        pairs_by_work = self._score_pairs(sample, fingerprints, candidates, references)
        works = self.store.works_by_id(list(pairs_by_work))
        matches = [self._work_match(sample, works[w], pairs) for w, pairs in pairs_by_work.items() if w in works]
        matches.sort(key=lambda m: (-m.score, m.work_id))
        return matches[:top]

    def _retrieve(self, fingerprints: list[FrameFingerprints]) -> set[tuple[int, int]]:
        """(query frame index, reference frame id) pairs proposed by any signal's index."""
        candidates: set[tuple[int, int]] = set()
        for signal in self.fingerprinter.active:
            indices = [i for i, values in enumerate(fingerprints) if values.get(signal.name) is not None]
            if not indices:
                continue
            queries = [fingerprints[i][signal.name].value for i in indices]
            for query_index, neighbors in zip(indices, self.searcher.search(index_spec(signal), queries, self.config.neighbors)):
                candidates.update((query_index, n.frame_id) for n in neighbors)
        return candidates

    def _distances(self, values: FrameFingerprints, reference: ReferenceFrame) -> dict[str, float]:
        distances = {}
        for signal in self.fingerprinter.active:
            query, stored = values.get(signal.name), signal.from_row(reference)
            if query is None or stored is None:
                continue
            if signal.index_kind == "cosine" and reference.clip_model != signal.model_id:
                continue  # embeddings of another model are not comparable
            distances[signal.name] = round(signal.distance(query.value, stored), 4)
        return distances

    def _score_pairs(self, sample, fingerprints, candidates, references) -> dict[int, list[FramePair]]:
        signals = {s.name: s for s in self.fingerprinter.active}
        best: dict[tuple[int, int], FramePair] = {}  # (work, query frame) -> best pair
        for query_index, frame_id in candidates:
            reference = references.get(frame_id)
            if reference is None:
                continue  # removed since the index saw it
            distances = self._distances(fingerprints[query_index], reference)
            score = pair_score(signals, distances, _pdq_quality(fingerprints[query_index], reference))
            frame = sample.frames[query_index]
            pair = FramePair(query_index, frame.timestamp, frame_id, reference.timestamp, distances, round(score, 4))
            key = (reference.work_id, query_index)
            if key not in best or pair.score > best[key].score:
                best[key] = pair
        by_work: dict[int, list[FramePair]] = defaultdict(list)
        for (work_id, _), pair in best.items():
            by_work[work_id].append(pair)
        return by_work

    def _work_match(self, sample: MediaSample, work: Work, pairs: list[FramePair]) -> Match:
        thresholds = self.config.thresholds
        matched = [p for p in pairs if p.score >= thresholds.match]
        segments = self._segments(sample, work, matched)
        score = segments[0].score if segments else max(p.score for p in pairs)
        if sample.kind == "video" and segments and len(sample.frames) >= 3 and len(matched) == 1:
            score *= 0.9  # a single matching frame in a longer clip is weaker evidence
        score = round(min(1.0, score), 4)
        evidence_pairs = sorted(pairs, key=lambda p: (-p.score, p.query_time))[:MAX_EVIDENCE_PAIRS]
        return Match(
            work_id=work.id,
            title=work.title,
            holder=work.holder.name,
            score=score,
            verdict=thresholds.verdict(score),
            segments=segments,
            evidence=self._evidence(pairs, matched, len(sample.frames)),
            kind=work.kind,
            opt_out={"train": work.opt_out_train, "generate": work.opt_out_generate},
            frame_pairs=evidence_pairs,
        )

    def _segments(self, sample: MediaSample, work: Work, matched: list[FramePair]) -> list[Segment]:
        if not matched:
            return []
        if sample.kind == "image":  # a still query has no time range; point at the reference moment
            best = max(matched, key=lambda p: p.score)
            return [Segment(0.0, 0.0, best.ref_time, best.ref_time, best.score)]
        return align(matched, sample.duration, work.duration, work.kind == "image", self.config.alignment)

    def _evidence(self, pairs: list[FramePair], matched: list[FramePair], query_frames: int) -> dict:
        per_signal: dict[str, dict] = {}
        for signal in self.fingerprinter.active:
            distances = [p.distances[signal.name] for p in pairs if signal.name in p.distances]
            if distances:
                best = min(distances)
                per_signal[signal.name] = {
                    "best_distance": best,
                    "threshold": signal.default_threshold,
                    "similarity": round(signal.similarity(best), 4),
                    "frames_within_threshold": sum(d <= signal.default_threshold for d in distances),
                }
        return {"signals": per_signal, "matched_query_frames": len(matched), "query_frames": query_frames}


def _pdq_quality(values: FrameFingerprints, reference: ReferenceFrame) -> int | None:
    """The lower PDQ quality of the two frames: a flat frame on either side weakens PDQ."""
    query = values.get("pdq")
    qualities = [q for q in (query.quality if query else None, reference.pdq_quality) if q is not None]
    return min(qualities) if qualities else None

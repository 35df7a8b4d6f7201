"""Turn per-signal distances into frame-pair scores, and scores into verdicts.

Each signal's distance is mapped through a logistic centred on that signal's own
threshold (score 0.5 exactly at the threshold), so signals with different units fuse
on one scale. A frame pair's score is the best of its signals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from provenance.report.schema import Verdict
from provenance.signals import Signal

MATCH_THRESHOLD = 0.5
SIMILAR_THRESHOLD = 0.35
LOW_QUALITY_PDQ = 50  # PDQ hashes of flat images below this quality are unreliable


@dataclass(frozen=True)
class Thresholds:
    match: float = MATCH_THRESHOLD
    similar: float = SIMILAR_THRESHOLD

    def verdict(self, score: float) -> Verdict:
        if score >= self.match:
            return "match"
        if score >= self.similar:
            return "similar"
        return "no_match"


def signal_score(signal: Signal, distance: float) -> float:
    """0.5 at the signal's threshold, ~1 at distance 0, ~0 at twice the threshold."""
    threshold = signal.default_threshold
    steepness = threshold / 6.0
    z = (distance - threshold) / steepness
    return 1.0 / (1.0 + math.exp(min(60.0, z)))


def pair_score(signals: dict[str, Signal], distances: dict[str, float], pdq_quality: int | None = None) -> float:
    scores = []
    for name, distance in distances.items():
        score = signal_score(signals[name], distance)
        if name == "pdq" and pdq_quality is not None and pdq_quality < LOW_QUALITY_PDQ:
            score *= 0.8
        scores.append(score)
    return max(scores, default=0.0)

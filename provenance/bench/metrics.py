"""Accuracy metrics of the benchmark (no dependencies beyond numpy).

Predictions are (query id, work id, score) triples; ground truth is the set of
(query id, work id) pairs that are real copies. Following DISC21, micro-average
precision pools every prediction of every query into one ranked list, so a score means
the same thing across queries: that is what a single global threshold relies on.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

Prediction = tuple[str, int, float]


@dataclass(frozen=True)
class Curve:
    scores: np.ndarray  # descending
    precision: np.ndarray
    recall: np.ndarray


def _dedupe(predictions: Iterable[Prediction]) -> dict[tuple[str, int], float]:
    best: dict[tuple[str, int], float] = {}
    for query, work, score in predictions:
        key = (query, work)
        if score > best.get(key, -np.inf):
            best[key] = score
    return best


def pr_curve(predictions: Iterable[Prediction], truth: set[tuple[str, int]]) -> Curve:
    best = _dedupe(predictions)
    if not best or not truth:
        return Curve(np.zeros(0), np.zeros(0), np.zeros(0))
    items = sorted(best.items(), key=lambda item: -item[1])
    scores = np.array([score for _, score in items])
    hits = np.array([key in truth for key, _ in items], dtype=np.float64)
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(hits) + 1)
    recall = true_positives / len(truth)
    # a threshold cannot split equal scores: keep the last point of each run of ties
    last_of_tie = np.append(scores[1:] != scores[:-1], True)
    return Curve(scores[last_of_tie], precision[last_of_tie], recall[last_of_tie])


def micro_ap(predictions: Iterable[Prediction], truth: set[tuple[str, int]]) -> float:
    """Area under the pooled precision-recall curve (step interpolation, as DISC21)."""
    curve = pr_curve(predictions, truth)
    if not len(curve.scores):
        return 0.0
    recall_steps = np.diff(np.concatenate([[0.0], curve.recall]))
    return float(np.sum(recall_steps * curve.precision))


def recall_at_precision(predictions: Iterable[Prediction], truth: set[tuple[str, int]], precision: float) -> tuple[float, float | None]:
    """Best recall over thresholds whose precision is at least ``precision``, and the
    lowest score threshold achieving it (None when no threshold qualifies)."""
    curve = pr_curve(predictions, truth)
    ok = curve.precision >= precision
    if not ok.any():
        return 0.0, None
    index = int(np.argmax(np.where(ok, curve.recall, -1.0)))
    return float(curve.recall[index]), float(curve.scores[index])


def recall_at_threshold(predictions: Iterable[Prediction], truth: set[tuple[str, int]], threshold: float | None) -> float:
    if threshold is None or not truth:
        return 0.0
    best = _dedupe(predictions)
    return sum(1 for key in truth if best.get(key, -np.inf) >= threshold) / len(truth)


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else (1.0 if a == b else 0.0)


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def upper_bound_zero_events(trials: int, confidence: float = 0.95) -> float | None:
    """One-sided upper confidence bound of a rate when 0 events were seen in ``trials``
    (the 'rule of three' for 95%)."""
    if trials <= 0:
        return None
    return 1.0 - (1.0 - confidence) ** (1.0 / trials)

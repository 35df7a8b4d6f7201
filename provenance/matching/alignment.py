"""Temporal alignment: group frame matches of one work into copied segments.

A copied stretch of a video shows up as (query time, reference time) pairs on a line
``ref = offset + slope * query``: slope 1 for a plain copy, another slope for a sped-up
or slowed-down one. Lines are found by exhaustive RANSAC over pairs of matches (slope
limited to [0.5, 2], slope 1 preferred when the evidence does not ask for another),
then split where the query has a long gap. A still reference (an image shown in a
clip, e.g. a pan over a registered picture) has no time axis: its matches are just
grouped into runs of query time.

Segment ends: with sampling every second, a copy's true start lies between the last
unmatched sample and the first matched one. When the first matched sample was taken at
a scene cut, the cut is the start; otherwise the midpoint of the two samples is the
best estimate (error at most half the sampling interval). Ends work the same way.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from provenance.report.schema import FramePair, Segment


@dataclass(frozen=True)
class AlignmentConfig:
    tolerance: float = 1.5  # seconds of reference time a pair may sit off its line (1 s sampling on both sides)
    min_slope: float = 0.5
    max_slope: float = 2.0
    max_gap: float = 3.0  # a query gap longer than this starts a new segment
    sample_interval: float = 1.0  # query sampling interval: caps how far an end may be extrapolated
    max_hypotheses: int = 4000  # pairs of matches tried per line (random subset beyond)
    slope_penalty: float = 0.25  # support (in frames) a sloped line must gain over slope 1
    min_drift: float = 1.0  # seconds a sloped line must drift from slope 1 across its frames


@dataclass
class Line:
    offset: float
    slope: float
    members: list[FramePair] = field(default_factory=list)

    def predict(self, query_time: float) -> float:
        return self.offset + self.slope * query_time


@dataclass
class SampleTimes:
    """Where the query's samples were taken: needed to place segment ends."""

    times: list[float]
    cuts: list[bool]  # sample taken at a scene cut
    duration: float


def _support(q: np.ndarray, r: np.ndarray, w: np.ndarray, index: np.ndarray, offset: float, slope: float, tolerance: float):
    """Support of a line: per query frame, the best of its pairs within ``tolerance``,
    each weighted by a kernel that falls from 1 on the line to 0 at the tolerance
    (so a line through the pairs beats one that merely grazes them)."""
    residual = np.abs(r - (offset + slope * q))
    inside = residual <= tolerance
    if not inside.any():
        return 0.0, inside
    kernel = w * (1.0 - (residual / tolerance) ** 2)
    best = np.zeros(int(index.max()) + 1)
    np.maximum.at(best, index[inside], kernel[inside])
    return float(best.sum()), inside


def _refit(q: np.ndarray, r: np.ndarray, w: np.ndarray, slope: float, config: AlignmentConfig) -> tuple[float, float]:
    """Weighted least squares when the members span enough time to pin a slope down,
    otherwise the weighted median offset at the given slope."""
    if len(q) >= 3 and q.max() - q.min() >= 2.0 and slope != 1.0:
        A = np.stack([np.ones_like(q), q], axis=1) * np.sqrt(w)[:, None]
        solution, *_ = np.linalg.lstsq(A, r * np.sqrt(w), rcond=None)
        new_slope = float(np.clip(solution[1], config.min_slope, config.max_slope))
        return float(np.average(r - new_slope * q, weights=w)), new_slope
    residual = r - slope * q
    order = np.argsort(residual)
    cumulative = np.cumsum(w[order])
    median = residual[order][int(np.searchsorted(cumulative, cumulative[-1] / 2))]
    return float(median), slope


def fit_lines(pairs: list[FramePair], config: AlignmentConfig, max_lines: int = 4, weights: list[float] | None = None) -> list[Line]:
    """Lines of consistent (query time -> reference time), strongest first.

    ``weights`` (default: the pairs' scores) say how much each pair should pull: a query
    frame often verifies against several neighbouring reference frames of a moving shot,
    and only the closest of them pins the timing down."""
    weight_of = {id(p): max(w, 1e-3) for p, w in zip(pairs, weights)} if weights is not None else {id(p): max(p.score, 1e-3) for p in pairs}
    remaining = list(pairs)
    lines: list[Line] = []
    rng = np.random.default_rng(0)
    while remaining and len(lines) < max_lines:
        q = np.array([p.query_time for p in remaining])
        r = np.array([p.ref_time for p in remaining])
        w = np.array([weight_of[id(p)] for p in remaining])
        index = np.array([p.query_index for p in remaining])
        best = (-1.0, 0.0, 1.0)
        for i in range(len(remaining)):  # slope-1 hypotheses through every match
            offset = float(r[i] - q[i])
            support, _ = _support(q, r, w, index, offset, 1.0, config.tolerance)
            if support > best[0]:
                best = (support, offset, 1.0)
        hypotheses = [(i, j) for i, j in itertools.combinations(range(len(remaining)), 2) if abs(q[j] - q[i]) >= 1.5]
        if len(hypotheses) > config.max_hypotheses:
            hypotheses = [hypotheses[k] for k in rng.choice(len(hypotheses), config.max_hypotheses, replace=False)]
        for i, j in hypotheses:
            slope = float((r[j] - r[i]) / (q[j] - q[i]))
            if not (config.min_slope <= slope <= config.max_slope) or abs(slope - 1.0) < 0.05:
                continue
            offset = float(r[i] - slope * q[i])
            support, inside = _support(q, r, w, index, offset, slope, config.tolerance)
            if support - config.slope_penalty <= best[0]:
                continue
            # a speed change must show beyond sampling jitter: over the frames it explains,
            # the sloped line has to part from a slope-1 line by at least ``min_drift``
            span = float(q[inside].max() - q[inside].min())
            if abs(slope - 1.0) * span >= config.min_drift:
                best = (support - config.slope_penalty, offset, slope)
        support, offset, slope = best
        if support <= 0:
            break
        _, inside = _support(q, r, w, index, offset, slope, config.tolerance)
        offset, slope = _refit(q[inside], r[inside], w[inside], slope, config)
        _, inside = _support(q, r, w, index, offset, slope, config.tolerance)
        if not inside.any():
            break
        members = _one_per_frame([p for p, keep in zip(remaining, inside) if keep], offset, slope, weight_of)
        lines.append(Line(offset, slope, members))
        used = {p.query_index for p in members}
        remaining = [p for p, keep in zip(remaining, inside) if not keep and p.query_index not in used]
    return lines


def _one_per_frame(pairs: list[FramePair], offset: float, slope: float, weight_of: dict[int, float] | None = None) -> list[FramePair]:
    best: dict[int, FramePair] = {}

    def key(p: FramePair):
        weight = weight_of[id(p)] if weight_of else p.score
        return (weight, -abs(p.ref_time - offset - slope * p.query_time))

    for pair in pairs:
        current = best.get(pair.query_index)
        if current is None or key(pair) > key(current):
            best[pair.query_index] = pair
    return sorted(best.values(), key=lambda p: p.query_time)


def split_runs(pairs: list[FramePair], max_gap: float) -> list[list[FramePair]]:
    ordered = sorted(pairs, key=lambda p: p.query_time)
    if not ordered:
        return []
    runs: list[list[FramePair]] = [[ordered[0]]]
    for pair in ordered[1:]:
        if pair.query_time - runs[-1][-1].query_time > max_gap:
            runs.append([pair])
        else:
            runs[-1].append(pair)
    return runs


def still_runs(pairs: list[FramePair], config: AlignmentConfig) -> list[list[FramePair]]:
    """Matches of a still reference: the best pair per query frame, split on gaps."""
    return split_runs(_one_per_frame(pairs, 0.0, 0.0), config.max_gap)


def run_bounds(run: list[FramePair], samples: SampleTimes, config: AlignmentConfig) -> tuple[float, float]:
    """Query-time start and end of a run of matched samples (see module doc)."""
    first, last = run[0].query_index, run[-1].query_index
    times, cuts = samples.times, samples.cuts
    if first <= 0:
        start = 0.0
    elif cuts[first]:
        start = times[first]
    else:
        start = max(times[first] - config.sample_interval, (times[first - 1] + times[first]) / 2)
    if last >= len(times) - 1:
        end = samples.duration
    elif cuts[last + 1]:
        end = times[last + 1]
    else:
        end = min(times[last] + config.sample_interval, (times[last] + times[last + 1]) / 2)
    return max(0.0, start), max(start, min(end, samples.duration))


def segment_of(
    run: list[FramePair], line: Line | None, samples: SampleTimes, ref_duration: float, score: float, config: AlignmentConfig
) -> Segment:
    start, end = run_bounds(run, samples, config)
    if line is None:  # still reference
        r_start = r_end = 0.0
    else:
        r_start = min(max(0.0, line.predict(start)), ref_duration)
        r_end = min(max(r_start, line.predict(end)), ref_duration)
    return Segment(round(start, 3), round(end, 3), round(r_start, 3), round(r_end, 3), round(score, 4))


def describe_line(line: Line) -> dict[str, float]:
    return {"offset": round(line.offset, 3), "speed": round(line.slope, 3), "frames": len(line.members)}


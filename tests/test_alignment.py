"""Temporal alignment: sloped lines through frame matches, and where segments start and end."""
from __future__ import annotations

import numpy as np
import pytest

from provenance.matching.alignment import AlignmentConfig, SampleTimes, fit_lines, run_bounds, segment_of, split_runs, still_runs
from provenance.report.schema import FramePair

CONFIG = AlignmentConfig()


def pair(index: int, query_time: float, ref_time: float, score: float = 0.9) -> FramePair:
    return FramePair(index, query_time, 1000 + index, ref_time, {}, score)


def test_speed_change_is_found_as_a_sloped_line() -> None:
    rng = np.random.default_rng(0)
    pairs = [pair(i, float(i), 2.0 + 1.5 * i + rng.uniform(-0.3, 0.3)) for i in range(7)]
    pairs += [pair(i, float(i), float(rng.uniform(0, 20)), 0.4) for i in range(7)]  # wrong reference frames
    lines = fit_lines(pairs, CONFIG)
    assert lines, "no alignment found"
    best = lines[0]
    assert best.slope == pytest.approx(1.5, abs=0.1)
    assert best.offset == pytest.approx(2.0, abs=0.5)
    assert len(best.members) == 7


def test_plain_copy_keeps_slope_one() -> None:
    pairs = [pair(i, float(i), 5.0 + i + (0.3 if i % 2 else -0.3)) for i in range(6)]
    line = fit_lines(pairs, CONFIG)[0]
    assert line.slope == 1.0
    assert line.offset == pytest.approx(5.0, abs=0.35)


def test_a_work_copied_twice_gives_two_lines() -> None:
    first = [pair(i, float(i), 10.0 + i) for i in range(4)]
    second = [pair(10 + i, 8.0 + i, 2.0 + i) for i in range(4)]
    lines = fit_lines(first + second, CONFIG)
    offsets = sorted(round(line.offset) for line in lines[:2])
    assert offsets == [-6, 10]


def test_segment_ends_snap_to_scene_cuts() -> None:
    # samples every second, plus the cuts into and out of the copied stretch
    times = [0, 1, 2, 3, 4, 5, 5.3, 6, 7, 8, 9, 9.7, 10, 11, 12]
    cuts = [t in (5.3, 9.7) for t in times]
    samples = SampleTimes([float(t) for t in times], cuts, 12.5)
    matched = [pair(i, float(times[i]), 3.0 + times[i] - 5.3) for i in range(6, 11)]
    start, end = run_bounds(matched, samples, CONFIG)
    assert (start, end) == (5.3, 9.7)


def test_segment_ends_without_cuts_are_midpoints() -> None:
    times = [float(t) for t in range(15)]
    samples = SampleTimes(times, [False] * 15, 15.0)
    matched = [pair(i, times[i], times[i] + 2) for i in range(6, 10)]
    assert run_bounds(matched, samples, CONFIG) == (5.5, 9.5)
    line = fit_lines(matched, CONFIG)[0]
    segment = segment_of(matched, line, samples, 30.0, 0.9, CONFIG)
    assert (segment.ref_start, segment.ref_end) == pytest.approx((7.5, 11.5), abs=0.01)


def test_whole_clip_copy_spans_the_clip() -> None:
    times = [float(t) for t in range(5)]
    samples = SampleTimes(times, [False] * 5, 5.2)
    matched = [pair(i, times[i], times[i]) for i in range(5)]
    assert run_bounds(matched, samples, CONFIG) == (0.0, 5.2)


def test_still_reference_runs_split_on_gaps() -> None:
    pairs = [pair(i, float(i), 0.0) for i in (0, 1, 2, 8, 9)]
    runs = still_runs(pairs, CONFIG)
    assert [[p.query_index for p in run] for run in runs] == [[0, 1, 2], [8, 9]]
    assert len(split_runs(pairs, max_gap=10.0)) == 1

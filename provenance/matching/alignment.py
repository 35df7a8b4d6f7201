"""Temporal alignment: group frame matches of one work into segments of consistent offset.

A copied segment shows up as query/reference frame pairs whose time offset
(reference time - query time) stays nearly constant. Pairs are clustered by offset,
then split where the query has a gap, giving (query range <-> reference range) segments.
"""
from __future__ import annotations

from dataclasses import dataclass

from provenance.report.schema import FramePair, Segment


@dataclass(frozen=True)
class AlignmentConfig:
    offset_tolerance: float = 1.25  # seconds; covers 1 fps sampling jitter on both sides
    max_gap: float = 3.0  # a query gap longer than this starts a new segment
    sample_interval: float = 1.0  # query sampling interval, added to the last matched time


def _cluster_by_offset(pairs: list[FramePair], tolerance: float) -> list[list[FramePair]]:
    clusters: list[tuple[float, list[FramePair]]] = []
    for pair in sorted(pairs, key=lambda p: -p.score):
        offset = pair.ref_time - pair.query_time
        for index, (centre, members) in enumerate(clusters):
            if abs(offset - centre) <= tolerance:
                members.append(pair)
                clusters[index] = (sum(p.ref_time - p.query_time for p in members) / len(members), members)
                break
        else:
            clusters.append((offset, [pair]))
    return [members for _, members in clusters]


def _split_on_gaps(pairs: list[FramePair], max_gap: float) -> list[list[FramePair]]:
    ordered = sorted(pairs, key=lambda p: p.query_time)
    runs: list[list[FramePair]] = [[ordered[0]]]
    for pair in ordered[1:]:
        if pair.query_time - runs[-1][-1].query_time > max_gap:
            runs.append([pair])
        else:
            runs[-1].append(pair)
    return runs


def align(
    pairs: list[FramePair], query_duration: float, ref_duration: float, still_reference: bool, config: AlignmentConfig
) -> list[Segment]:
    """Segments sorted by score; pairs should be frame-level matches only."""
    if not pairs:
        return []
    clusters = [pairs] if still_reference else _cluster_by_offset(pairs, config.offset_tolerance)
    segments: list[Segment] = []
    for cluster in clusters:
        for run in _split_on_gaps(cluster, config.max_gap):
            q_start = min(p.query_time for p in run)
            q_end = min(max(p.query_time for p in run) + config.sample_interval, max(query_duration, q_start))
            score = sum(p.score for p in run) / len(run)
            if still_reference:
                r_start = r_end = 0.0
            else:
                r_start = min(p.ref_time for p in run)
                r_end = min(max(p.ref_time for p in run) + config.sample_interval, max(ref_duration, r_start))
            segments.append(Segment(round(q_start, 3), round(q_end, 3), round(r_start, 3), round(r_end, 3), round(score, 4)))
    return sorted(segments, key=lambda s: (-s.score, s.query_start))

"""Matcher settings, read from ``PROVENANCE_MATCH_*`` environment variables.

The verdict thresholds themselves come from the main settings
(``PROVENANCE_MATCH_THRESHOLD``, ``PROVENANCE_SIMILAR_THRESHOLD``).

=====================================  =======  ==================================================
variable                               default  meaning
=====================================  =======  ==================================================
PROVENANCE_MATCH_NEIGHBORS             10       hash-index neighbours per query view and signal
PROVENANCE_MATCH_CANDIDATES            8        works scored per query frame (retrieval short list)
PROVENANCE_MATCH_KEYPOINTS             1        local-feature retrieval and geometric verification
PROVENANCE_MATCH_KEYPOINT_FRAMES       8        clip frames searched in the keypoint index (more in long clips: 1 in 4 unmatched)
PROVENANCE_MATCH_VERIFY_PER_FRAME      2        pairs verified per clip frame before alignment (images: CANDIDATES)
PROVENANCE_MATCH_VERIFY_BUDGET         240      geometric verifications per scanned file, at most
PROVENANCE_MATCH_VIEW_SEARCH           1        dense search for frames showing part of a still (needs KEYPOINTS)
PROVENANCE_MATCH_VIEW_BUDGET           60       dense view searches per scanned file, at most
=====================================  =======  ==================================================
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from provenance.matching.alignment import AlignmentConfig
from provenance.matching.scoring import Thresholds


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(f"PROVENANCE_MATCH_{name}", "").strip()
    return int(value) if value else default


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(f"PROVENANCE_MATCH_{name}", "").strip().lower()
    return default if not value else value in {"1", "true", "yes", "on"}


@dataclass
class MatcherConfig:
    neighbors: int = 10
    thresholds: Thresholds = field(default_factory=Thresholds)
    alignment: AlignmentConfig = field(default_factory=AlignmentConfig)
    candidates: int = 8
    keypoints: bool = True
    keypoint_frames: int = 8
    verify_per_frame: int = 2
    verify_budget: int = 240
    view_search: bool = True
    view_budget: int = 60

    @classmethod
    def from_env(cls, thresholds: Thresholds | None = None, environ: Mapping[str, str] | None = None) -> "MatcherConfig":
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            neighbors=_int(env, "NEIGHBORS", defaults.neighbors),
            thresholds=thresholds or Thresholds(),
            candidates=_int(env, "CANDIDATES", defaults.candidates),
            keypoints=_bool(env, "KEYPOINTS", defaults.keypoints),
            keypoint_frames=_int(env, "KEYPOINT_FRAMES", defaults.keypoint_frames),
            verify_per_frame=_int(env, "VERIFY_PER_FRAME", defaults.verify_per_frame),
            verify_budget=_int(env, "VERIFY_BUDGET", defaults.verify_budget),
            view_search=_bool(env, "VIEW_SEARCH", defaults.view_search),
            view_budget=_int(env, "VIEW_BUDGET", defaults.view_budget),
        )

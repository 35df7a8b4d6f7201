"""From evidence to one score in [0, 1], and from scores to verdicts.

Every evidence channel is mapped to [0, 1] by a logistic centred on the point where, on
unrelated pictures, that channel alone reaches a false-match rate of about 1e-5 per
compared pair or less (the measurements are in docs/accuracy.md):

* ``pdq``   Hamming distance of 256-bit PDQ hashes (best over the query's views and the
            reference's stored variants). Centre 31 bits, Meta's recommended match
            distance; unrelated pictures sit at 84 bits and more. Flat frames (PDQ
            quality < 50) hash unreliably: their centre moves to 16 bits.
* ``phash`` Hamming distance of 64-bit pHashes. 64 bits are too few to decide alone
            in a store of any size: unrelated clip art, compared through every view and
            variant, came within 6 bits in 1 of ~190,000 non-copy pairs. pHash therefore
            contributes at most 0.45 (below ``match``), and only near-identical hashes
            (<= 4 bits) contribute much; it decides together with PDQ or geometry.
* ``geometry`` RANSAC homography inliers of ORB correspondences, weighted by how well
            the aligned pictures agree (normalised cross-correlation, NCC): unrelated
            pictures give at most ~9 plausible inliers with agreeing pixels, copies tens to
            hundreds. A homography whose pictures do not agree (NCC <= 0.4) counts half its
            inliers. Centre 12.
* ``view``  a frame placed inside a still by dense search (:mod:`view_search`): the
            grey-level NCC of frame and window, the NCC of their gradients, and the
            margin over the best placement elsewhere must all be high; the weakest of
            the three decides. Unrelated frames (19,200 exhaustive pairs) stayed at
            0.048 or less. Dense placement is weaker evidence than corners: one frame
            contributes at most 0.48 (``similar``), so a clip needs three frames
            placed in the same still to reach ``match``, and an image needs a second
            channel.
* ``clip``  (only when CLIP weights are installed) cosine distance of CLIP embeddings.
            Semantic similarity is not copying: CLIP alone is capped below ``similar``
            territory and otherwise only strengthens evidence another channel found.

Channels fuse by noisy-OR (the chance that at least one channel's evidence is right).
On unrelated pictures every channel sits near 0, so the OR cannot add up to a false
match; on copies the channels that survived the edit dominate. The ``match`` and
``similar`` thresholds are configurable (``PROVENANCE_MATCH_THRESHOLD``,
``PROVENANCE_SIMILAR_THRESHOLD``); the defaults and the false-match rates they were
measured at are in docs/accuracy.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from provenance.report.schema import Verdict

# Chosen from the score distribution of negative queries (docs/accuracy.md): no
# negative query reached 0.30 in the calibration runs; ``match`` sits well above.
MATCH_THRESHOLD = 0.5
SIMILAR_THRESHOLD = 0.25

LOW_QUALITY_PDQ = 50  # PDQ's own quality below which a hash of a flat image is unreliable

PDQ_CENTRE, PDQ_WIDTH = 31.0, 5.0
PDQ_CENTRE_LOW_QUALITY = 16.0
PHASH_CENTRE, PHASH_WIDTH, PHASH_CAP = 6.0, 1.0, 0.45
GEOMETRY_CENTRE, GEOMETRY_WIDTH = 12.0, 1.5
VIEW_NCC_CENTRE, VIEW_NCC_WIDTH = 0.92, 0.02
VIEW_EDGE_CENTRE, VIEW_EDGE_WIDTH = 0.80, 0.03
VIEW_MARGIN_CENTRE, VIEW_MARGIN_WIDTH = 0.10, 0.04  # NCC minus the runner-up placement's
VIEW_CAP = 0.48  # < 0.5: one or two placed frames stay `similar`; three near-certain ones give 0.64
CLIP_CENTRE, CLIP_WIDTH = 0.10, 0.015  # cosine distance
CLIP_ALONE_CAP = 0.2


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


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def pdq_score(distance: float, quality: int | None = None) -> float:
    centre = PDQ_CENTRE_LOW_QUALITY if quality is not None and quality < LOW_QUALITY_PDQ else PDQ_CENTRE
    return logistic((centre - distance) / PDQ_WIDTH)


def phash_score(distance: float) -> float:
    return PHASH_CAP * logistic((PHASH_CENTRE - distance) / PHASH_WIDTH)


def effective_inliers(inliers: int, ncc: float) -> float:
    """Inliers weighted by photometric agreement: x0.5 when the aligned pictures do not
    correlate (NCC <= 0.4), up to x1.25 when they clearly do (NCC >= 0.9)."""
    agreement = min(1.0, max(0.0, (ncc - 0.4) / 0.5))
    return inliers * (0.5 + 0.75 * agreement)


def geometry_score(inliers: int, ncc: float) -> float:
    if inliers <= 0:
        return 0.0
    return logistic((effective_inliers(inliers, ncc) - GEOMETRY_CENTRE) / GEOMETRY_WIDTH)


def view_score(ncc: float, edge_ncc: float, runner_up: float) -> float:
    weakest = min(
        (ncc - VIEW_NCC_CENTRE) / VIEW_NCC_WIDTH,
        (edge_ncc - VIEW_EDGE_CENTRE) / VIEW_EDGE_WIDTH,
        (ncc - runner_up - VIEW_MARGIN_CENTRE) / VIEW_MARGIN_WIDTH,
    )
    return VIEW_CAP * logistic(weakest)


def clip_score(distance: float) -> float:
    return logistic((CLIP_CENTRE - distance) / CLIP_WIDTH)


def fuse(channels: dict[str, float]) -> float:
    """One score from per-channel scores (noisy-OR; CLIP only as support, see module doc)."""
    miss = 1.0
    for name, value in channels.items():
        if name != "clip":
            miss *= 1.0 - value
    score = 1.0 - miss
    clip = channels.get("clip")
    if clip is not None:
        # CLIP raises the score by at most half the distance to 1, in proportion to the
        # evidence already there; alone it never reaches ``similar``.
        score = max(score + (1.0 - score) * 0.5 * clip * min(1.0, score / 0.25), CLIP_ALONE_CAP * clip)
    return min(1.0, max(0.0, score))


def combine_frames(scores: list[float], frames_sampled: int) -> float:
    """A segment's score from its frames' scores: the best three, noisy-OR'd with an
    exponent of 0.5 because consecutive frames of one shot are not independent evidence.
    One matching frame in a longer clip therefore scores lower than the frame itself,
    three agreeing frames higher."""
    best = sorted(scores, reverse=True)[:3]
    if not best:
        return 0.0
    if frames_sampled < 3:
        return best[0]
    miss = 1.0
    for value in best:
        miss *= (1.0 - min(value, 0.999999)) ** 0.5
    return 1.0 - miss

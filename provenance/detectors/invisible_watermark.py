"""Invisible watermarks of the `invisible-watermark` DWT-DCT family.

Looks for the payloads that open-source generators embed (Stable Diffusion v1 and v2
scripts, SDXL through diffusers/sgm) and for payloads an operator configures.

The decision is statistical and its false-positive rate is bounded, not guessed:

* Per frame and per hypothesis (payload x geometry) we count the payload bits the
  decoder agrees with. On a frame without that watermark a decoded bit is a coin
  flip, but not an independent one: on smooth content neighbouring blocks (which
  carry neighbouring payload bits) vote alike. Measured on clean frames, bits come
  in correlated pairs, so we model the agreement ``m`` of an ``L``-bit payload as
  ``2 x Binomial(L/2, 1/2)`` (a design effect of 2; the plain binomial was too
  optimistic on our clean corpus). A frame "hits" when
  ``P(Binomial(L/2) >= ceil(m/2)) <= alpha``.
* A clip is ``detected`` when at least ``k`` of its ``n`` decoded frames hit the same
  hypothesis (``k = 1`` for a still, ``ceil(n/2)`` but at least 2 for a video).
  Frames of one video are far from independent, so we bound the clip rate with
  Markov's inequality, which needs no independence:
  ``P(hits >= k) <= E[hits] / k = n * alpha / k`` per hypothesis; summing over the
  ``H`` hypotheses, ``alpha = target * k / (n * H)`` keeps the clip rate <= target.
* ``scripts/bench_watermarks.py`` checks the coin-flip model on >1,000 clean frames
  at rates that can be measured, and measures detection after JPEG, resize, crop
  and H.264 (numbers in ``docs/provenance.md``).

Generators write watermarks at their native output size; a resized copy is also
decoded after scaling it back to each standard generator size with the same aspect
ratio (each one is a hypothesis, paid for in ``H``).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import cv2
import numpy as np
from PIL import Image

from provenance.detectors.base import ProvenanceSignal
from provenance.detectors.config import PayloadSpec
from provenance.detectors.dwtdct import MIN_PIXELS, block_votes
from provenance.media.frames import MediaSample

# Standard output sizes (width, height) of open generators: SD 1.x/2.x and SDXL buckets.
GENERATOR_SIZES: tuple[tuple[int, int], ...] = (
    (512, 512), (768, 768), (1024, 1024),
    (1152, 896), (896, 1152), (1216, 832), (832, 1216),
    (1344, 768), (768, 1344), (1536, 640), (640, 1536),
)
ASPECT_TOLERANCE = 0.01
MAX_STILL_PIXELS = 40_000_000  # decoding a still from its bytes beyond this is not worth it
WEAK_P_VALUE = 1e-4  # reported as an inconclusive hint below the target rate


@dataclass(frozen=True)
class Payload:
    name: str
    label: str  # for people
    bits: tuple[int, ...]
    method: str = "dwtDct"
    origin: str = "public"  # "public" or "configured"

    @property
    def length(self) -> int:
        return len(self.bits)


def bits_of_bytes(data: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8)))


# Verified against the public sources: CompVis/stable-diffusion scripts/txt2img.py
# (``set_watermark('bytes', "StableDiffusionV1".encode())``, method dwtDct),
# Stability-AI/stablediffusion scripts ("SDV2"), and Stability-AI/generative-models
# sgm/inference + diffusers StableDiffusionXLWatermarker (48-bit message, dwtDct).
SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110
PUBLIC_PAYLOADS: tuple[Payload, ...] = (
    Payload("stable-diffusion-v1", "Stable Diffusion v1 scripts", bits_of_bytes(b"StableDiffusionV1")),
    Payload("stable-diffusion-v2", "Stable Diffusion v2 scripts", bits_of_bytes(b"SDV2")),
    Payload("sdxl", "SDXL (diffusers / sgm)", tuple(int(b) for b in bin(SDXL_MESSAGE)[2:])),
)


def payloads_from_config(specs: Iterable[PayloadSpec]) -> tuple[Payload, ...]:
    return tuple(
        Payload(s.name, f"configured payload {s.name}", bits_of_bytes(s.payload), s.method, "configured")
        for s in specs
    )


@lru_cache(maxsize=4096)
def binomial_tail(n: int, m: int) -> float:
    """P(X >= m) for X ~ Binomial(n, 1/2), exactly."""
    if m <= 0:
        return 1.0
    if m > n:
        return 0.0
    return math.fsum(math.comb(n, i) for i in range(m, n + 1)) / 2.0**n


def p_value(length: int, agreement: int) -> float:
    """Chance that a frame without the watermark agrees on ``agreement`` of ``length``
    bits or more, under the paired-bit model (see the module docstring)."""
    return binomial_tail(length // 2, math.ceil(agreement / 2))


def min_agreement(length: int, alpha: float) -> int:
    """Smallest agreement whose p-value is <= alpha (length + 1 if even a perfect match is not)."""
    for m in range(length // 2, length + 1):
        if p_value(length, m) <= alpha:
            return m
    return length + 1


def clip_k(n: int) -> int:
    """Frames that must agree for a clip: 1 for a still, else a majority but at least 2."""
    return 1 if n <= 1 else max(2, math.ceil(n / 2))


def candidate_geometries(width: int, height: int) -> list[tuple[int, int] | None]:
    """``None`` (decode as is) plus generator sizes of the same aspect ratio."""
    out: list[tuple[int, int] | None] = [None]
    aspect = width / height
    for w, h in GENERATOR_SIZES:
        if (w, h) != (width, height) and abs(w / h - aspect) / aspect <= ASPECT_TOLERANCE:
            out.append((w, h))
    return out


def evenly_spaced(count: int, limit: int) -> list[int]:
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


@dataclass
class _Frame:
    index: int
    timestamp: float
    bgr: np.ndarray


class InvisibleWatermarkDetector:
    """DWT-DCT watermark detector (``invisible-watermark`` family, no neural models)."""

    name = "dwtdct"
    kind = "invisible_watermark"

    def __init__(self, payloads: Iterable[Payload] = PUBLIC_PAYLOADS, fpr: float = 1e-6, max_frames: int = 8):
        self.payloads = tuple(payloads)
        self.fpr = fpr
        self.max_frames = max_frames
        try:
            from importlib.metadata import version

            self.version = f"invisible-watermark-compatible/{version('invisible-watermark')}"
        except Exception:  # the decoder is ours; the package is only needed to embed
            self.version = "dwtdct-numpy"

    # -- inputs --------------------------------------------------------------------
    def _frames(self, sample: MediaSample) -> list[_Frame]:
        if sample.kind == "image":
            # The original pixels: intake may have downscaled its frame, which would
            # move every watermark block.
            try:
                with Image.open(io.BytesIO(sample.source.read_bytes())) as im:
                    if im.width * im.height <= MAX_STILL_PIXELS:
                        rgb = np.asarray(im.convert("RGB"))
                        return [_Frame(0, 0.0, np.ascontiguousarray(rgb[:, :, ::-1]))]
            except Exception:
                pass  # fall back to the sampled frame
        picked = evenly_spaced(len(sample.frames), self.max_frames)
        return [
            _Frame(f.index, f.timestamp, np.ascontiguousarray(f.rgb[:, :, ::-1]))
            for f in (sample.frames[i] for i in picked)
        ]

    # -- decision ------------------------------------------------------------------
    def detect(self, sample: MediaSample) -> ProvenanceSignal:
        frames = self._frames(sample)
        if not frames:
            return self._unavailable("the sample has no frames")
        h0, w0 = frames[0].bgr.shape[:2]
        geometries = [
            g for g in candidate_geometries(w0, h0) if (g[0] * g[1] if g else w0 * h0) >= MIN_PIXELS
        ]
        if not geometries or not self.payloads:
            return self._unavailable(
                f"frames are {w0}x{h0}, smaller than the 256x256 the DWT-DCT watermark needs"
                if self.payloads else "no payload configured"
            )

        n, k = len(frames), clip_k(len(frames))
        hypotheses = len(self.payloads) * len(geometries)
        alpha = self.fpr * k / (n * hypotheses)
        need = {p.name: min_agreement(p.length, alpha) for p in self.payloads}
        methods = sorted({p.method for p in self.payloads})

        hits: dict[tuple[str, str], list[dict]] = {}
        best: dict[str, dict] = {}
        for geometry in geometries:
            gname = "native" if geometry is None else f"{geometry[0]}x{geometry[1]}"
            for frame in frames:
                img = frame.bgr
                if geometry is not None:
                    interp = cv2.INTER_AREA if geometry[0] < img.shape[1] else cv2.INTER_CUBIC
                    img = cv2.resize(img, geometry, interpolation=interp)
                elif img.shape[0] * img.shape[1] < MIN_PIXELS:
                    continue
                votes = {m: block_votes(img, m) for m in methods}
                for p in self.payloads:
                    bits = (votes[p.method].fold(p.length) * 255 > 127).astype(np.uint8)
                    agree = int((bits == np.asarray(p.bits, dtype=np.uint8)).sum())
                    row = {
                        "frame": frame.index,
                        "timestamp": round(frame.timestamp, 3),
                        "geometry": gname,
                        "agreement": agree,
                        "bits": p.length,
                        "p_value": p_value(p.length, agree),
                    }
                    if p.name not in best or agree > best[p.name]["agreement"]:
                        best[p.name] = row
                    if agree >= need[p.name]:
                        hits.setdefault((p.name, gname), []).append(row)

        evidence = {
            "frames_decoded": n,
            "frames_required": k,
            "hypotheses": hypotheses,
            "geometries": ["native" if g is None else f"{g[0]}x{g[1]}" for g in geometries],
            "per_frame_alpha": alpha,
            "target_fpr_per_clip": self.fpr,
            "payloads": [
                {"name": p.name, "method": p.method, "bits": p.length, "origin": p.origin,
                 "min_agreement": need[p.name], "best": best.get(p.name),
                 # a payload too short for the target rate can never be `detected`: say so
                 "reachable": need[p.name] <= p.length}
                for p in self.payloads
            ],
        }
        found = [(key, rows) for key, rows in hits.items() if len(rows) >= k]
        if not found:
            # Matches too weak for the target rate are worth a reviewer's look, never a verdict.
            weak = [
                {"payload": name, **row} for name, row in best.items()
                if row["p_value"] <= WEAK_P_VALUE
            ]
            evidence["weak_matches"] = weak
            hint = (f" Weak, inconclusive match with {', '.join(w['payload'] for w in weak)}."
                    if weak else "")
            return ProvenanceSignal(
                kind=self.kind, detector=self.name, version=self.version, status="not_detected",
                evidence=evidence, fpr=None,
                summary=f"No known DWT-DCT watermark in {n} decoded frame(s) "
                        f"(absence says nothing about how the media was made).{hint}",
            )
        (pname, gname), rows = max(found, key=lambda kv: (len(kv[1]), max(r["agreement"] for r in kv[1])))
        payload = next(p for p in self.payloads if p.name == pname)
        evidence.update({
            "payload": pname,
            "payload_label": payload.label,
            "method": payload.method,
            "geometry": gname,
            "frames_hit": rows,
            "other_matches": [{"payload": pn, "geometry": g, "frames": len(r)} for (pn, g), r in found
                              if (pn, g) != (pname, gname)],
        })
        worst = min(r["agreement"] for r in rows)
        return ProvenanceSignal(
            kind=self.kind, detector=self.name, version=self.version, status="detected",
            evidence=evidence, fpr=self.fpr,
            summary=f"{payload.label} invisible watermark ({payload.method}) in {len(rows)}/{n} frame(s), "
                    f">= {worst}/{payload.length} bits agree; false-positive rate <= {self.fpr:g} per clip.",
        )

    def _unavailable(self, reason: str) -> ProvenanceSignal:
        return ProvenanceSignal(
            kind=self.kind, detector=self.name, version=self.version, status="unavailable",
            evidence={"reason": reason}, summary=f"Invisible watermark check could not run: {reason}.",
        )

"""Neural watermark decoders that run only where an operator installed them.

TrustMark (Adobe) and VideoSeal (Meta) need their Python package *and* local weights;
we never download weights. Without both, each reports ``unavailable`` with the reason,
so a report always shows which checks did not run.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from provenance.detectors.base import ProvenanceSignal
from provenance.detectors.invisible_watermark import evenly_spaced
from provenance.media.frames import MediaSample


def _package_version(module: str, dist: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "unknown"


class _OptionalDetector:
    name = "optional"
    kind = "invisible_watermark"
    module = ""
    dist = ""
    env = ""

    def __init__(self, weights: Path | None):
        self.weights = weights
        self.package_version = _package_version(self.module, self.dist)
        self.version = f"{self.dist} {self.package_version}" if self.package_version else "not installed"
        self._model: Any = None

    def why_unavailable(self) -> str | None:
        if self.package_version is None:
            return f"the {self.dist} package is not installed"
        if self.weights is None:
            return f"no local weights configured ({self.env} is unset; weights are never downloaded)"
        if not self.weights.exists():
            return f"{self.env}={self.weights} does not exist"
        return None

    def _signal(self, status: str, summary: str, **evidence: Any) -> ProvenanceSignal:
        return ProvenanceSignal(self.kind, self.name, self.version, status, evidence, summary=summary)  # type: ignore[arg-type]

    def detect(self, sample: MediaSample) -> ProvenanceSignal:
        reason = self.why_unavailable()
        if reason:
            return self._signal("unavailable", f"{self.dist} check did not run: {reason}.", reason=reason)
        try:
            return self._detect(sample)
        except Exception as exc:  # third-party models fail in many ways; report, never crash a scan
            return self._signal("unavailable", f"{self.dist} check failed to run: {exc}.",
                                reason=f"{type(exc).__name__}: {exc}")

    def _detect(self, sample: MediaSample) -> ProvenanceSignal:
        raise NotImplementedError


class TrustMarkDetector(_OptionalDetector):
    name = "trustmark"
    module = "trustmark"
    dist = "trustmark"
    env = "PROVENANCE_TRUSTMARK_WEIGHTS"

    def _detect(self, sample: MediaSample) -> ProvenanceSignal:
        import trustmark  # type: ignore[import-not-found]
        from unittest import mock

        if self._model is None:
            # TrustMark reads its checkpoints from its package's `models` folder and downloads
            # missing ones; we require them to be present there and block any download.
            package_models = Path(trustmark.__file__).parent / "models"
            wanted = ("decoder_Q.ckpt", "trustmark_Q.yaml")
            missing = [f for f in wanted if not (package_models / f).exists()]
            if missing:
                raise RuntimeError(
                    f"TrustMark checkpoints {missing} are not in {package_models}; copy them from "
                    f"{self.weights} (no download is attempted)")

            def no_network(*_args: Any, **_kwargs: Any) -> None:
                raise RuntimeError("network access is disabled for TrustMark")

            with mock.patch("urllib.request.urlretrieve", no_network), mock.patch("urllib.request.urlopen", no_network):
                self._model = trustmark.TrustMark(verbose=False, model_type="Q")
        hits = []
        frames = [sample.frames[i] for i in evenly_spaced(len(sample.frames), 8)]
        for frame in frames:
            secret, present, schema = self._model.decode(Image.fromarray(np.ascontiguousarray(frame.rgb)))
            if present:
                hits.append({"frame": frame.index, "timestamp": frame.timestamp, "secret": str(secret),
                             "schema": str(schema)})
        if hits and len(hits) >= max(1, len(frames) // 2):
            return self._signal("detected", f"TrustMark watermark in {len(hits)}/{len(frames)} frame(s).",
                                frames_hit=hits, frames_decoded=len(frames))
        return self._signal("not_detected", f"No TrustMark watermark in {len(frames)} frame(s).",
                            frames_hit=hits, frames_decoded=len(frames))


class VideoSealDetector(_OptionalDetector):
    name = "videoseal"
    module = "videoseal"
    dist = "videoseal"
    env = "PROVENANCE_VIDEOSEAL_WEIGHTS"

    def _detect(self, sample: MediaSample) -> ProvenanceSignal:
        import torch
        import videoseal  # type: ignore[import-not-found]

        if self._model is None:
            self._model = videoseal.load(str(self.weights))
            self._model.eval()
        frames = [sample.frames[i] for i in evenly_spaced(len(sample.frames), 16)]
        video = torch.from_numpy(np.stack([f.rgb for f in frames])).permute(0, 3, 1, 2).float() / 255.0
        with torch.no_grad():
            msg = self._model.extract_message(video)
        bits = (msg > 0).int().flatten().tolist() if hasattr(msg, "flatten") else list(msg)
        # VideoSeal has no presence flag of its own; report the decoded bits for comparison
        # with a registry of known messages, but never claim detection from them alone.
        return self._signal("not_detected",
                            "VideoSeal message decoded; without a registry of known messages it proves nothing.",
                            message_bits=bits, frames_decoded=len(frames))

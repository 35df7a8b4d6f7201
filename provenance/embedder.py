"""CLIP image embeddings with open_clip: real weights or nothing.

Weights come from an open_clip pretrained tag (downloaded and cached by open_clip/HF
where the machine is online) or from a local checkpoint path. When neither can be
loaded the embedder is *unavailable*: it says why once, and callers match on the
other signals. It never falls back to random weights.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from provenance.errors import ConfigurationError
from provenance.settings import Settings

log = logging.getLogger(__name__)
_HUB_HOST = "huggingface.co"


class ClipUnavailable(ConfigurationError):
    """No weights could be loaded for the configured model."""


@dataclass(frozen=True)
class ClipConfig:
    model: str
    pretrained: str  # open_clip tag or checkpoint path
    device: str = "auto"
    batch_size: int = 16

    @classmethod
    def from_settings(cls, settings: Settings) -> "ClipConfig":
        return cls(settings.clip_model, settings.clip_pretrained, settings.device, settings.clip_batch_size)

    @property
    def is_path(self) -> bool:
        return os.sep in self.pretrained or self.pretrained.endswith((".pt", ".bin", ".safetensors", ".pth"))


def resolve_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def _checkpoint_id(path: Path) -> str:
    """Cheap identity for a checkpoint: size plus a hash of its first MiB."""
    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
    return f"file-{digest.hexdigest()[:12]}"


def _hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False  # the operator (or the test suite) forbids downloads
    try:
        socket.create_connection((_HUB_HOST, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _tag_is_cached(model: str, tag: str) -> bool:
    import open_clip
    from huggingface_hub import try_to_load_from_cache

    config = open_clip.get_pretrained_cfg(model, tag)
    if not config:
        raise ClipUnavailable(f"open_clip has no pretrained tag {tag!r} for model {model!r}")
    repo = (config.get("hf_hub") or "").strip("/")
    if not repo:
        return False
    for filename in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
        if isinstance(try_to_load_from_cache(repo, filename), str):
            return True
    return False


class ClipEmbedder:
    """Loads lazily (thread-safe) and embeds batches of RGB frames to unit vectors."""

    def __init__(self, config: ClipConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._model = None
        self._preprocess = None
        self._error: str | None = None
        self.device: str | None = None
        self.model_id: str | None = None
        self.dimension: int | None = None

    @property
    def unavailable_reason(self) -> str | None:
        return self._error

    def load(self) -> None:
        """Load the model once; raise ClipUnavailable (the same reason every time) if it cannot be."""
        with self._lock:
            if self._model is not None:
                return
            if self._error is not None:
                raise ClipUnavailable(self._error)
            try:
                self._load()
            except Exception as exc:  # any failure to load real weights makes CLIP unavailable
                self._error = str(exc) if isinstance(exc, ClipUnavailable) else f"{type(exc).__name__}: {exc}"
                log.warning("CLIP signal unavailable, matching on the other signals: %s", self._error)
                raise ClipUnavailable(self._error) from exc

    def _load(self) -> None:
        from provenance.compat.torchvision_cpu import ensure_torchvision_importable

        ensure_torchvision_importable()
        import open_clip

        config = self.config
        if config.is_path:
            path = Path(config.pretrained).expanduser()
            if not path.is_file():
                raise ClipUnavailable(f"CLIP checkpoint {path} does not exist")
            weights_id = _checkpoint_id(path)
            pretrained = str(path)
        else:
            if not _tag_is_cached(config.model, config.pretrained) and not _hub_reachable():
                raise ClipUnavailable(
                    f"weights for {config.model}/{config.pretrained} are not cached and {_HUB_HOST} is unreachable; "
                    "set PROVENANCE_CLIP_PRETRAINED to a local checkpoint path"
                )
            weights_id = config.pretrained
            pretrained = config.pretrained
        device = resolve_device(config.device)
        model, _, preprocess = open_clip.create_model_and_transforms(
            config.model, pretrained=pretrained, device=device, load_weights=True
        )
        model.eval()
        self._model, self._preprocess, self.device = model, preprocess, device
        self.model_id = f"{config.model}/{weights_id}"
        self.dimension = int(model.visual.output_dim)
        log.info("CLIP %s loaded on %s", self.model_id, device)

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        """Unit-length float32 embeddings, one row per image, computed in batches."""
        self.load()
        import torch
        from PIL import Image

        if not images:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        outputs = []
        use_cuda = self.device is not None and self.device.startswith("cuda")
        for start in range(0, len(images), self.config.batch_size):
            chunk = images[start : start + self.config.batch_size]
            batch = torch.stack([self._preprocess(Image.fromarray(image)) for image in chunk]).to(self.device)
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=use_cuda):
                features = self._model.encode_image(batch)
            features = torch.nn.functional.normalize(features.float(), dim=-1)
            outputs.append(features.cpu().numpy())
        return np.concatenate(outputs).astype(np.float32)


_shared: dict[ClipConfig, ClipEmbedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(config: ClipConfig) -> ClipEmbedder:
    """One embedder per configuration and process, so the model is loaded once."""
    with _shared_lock:
        if config not in _shared:
            _shared[config] = ClipEmbedder(config)
        return _shared[config]

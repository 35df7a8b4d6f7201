"""Real open_clip checkpoints for tests: a tiny model, randomly initialised, saved to a file.

Production never uses random weights; tests use them to exercise the real loading code
(config lookup, checkpoint file, preprocessing, batching) without any download.
"""
from __future__ import annotations

import json
from pathlib import Path

TINY_MODEL = "ProvenanceTest-TinyViT"
TINY_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


def register_tiny_config(folder: Path) -> str:
    from provenance.compat.torchvision_cpu import ensure_torchvision_importable

    ensure_torchvision_importable()
    import open_clip

    config_path = folder / f"{TINY_MODEL}.json"
    config_path.write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(config_path)
    return TINY_MODEL


def make_checkpoint(folder: Path, model_name: str | None = None, seed: int = 0) -> tuple[str, Path]:
    """Save a randomly initialised model's state dict; returns (model name, checkpoint path)."""
    from provenance.compat.torchvision_cpu import ensure_torchvision_importable

    ensure_torchvision_importable()
    import open_clip
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    name = model_name or register_tiny_config(folder)
    torch.manual_seed(seed)
    model = open_clip.create_model(name, pretrained=None)
    path = folder / f"{name}-seed{seed}.pt"
    torch.save(model.state_dict(), path)
    return name, path

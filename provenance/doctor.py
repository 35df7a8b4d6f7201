"""`provenance doctor`: what this installation can do, in one place."""
from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from provenance.settings import Settings

_PACKAGES = ("torch", "torchvision", "open-clip-torch", "av", "pdqhash", "imagehash", "faiss-cpu",
             "sqlalchemy", "fastapi", "c2pa-python", "invisible-watermark", "opencv-python-headless")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _device() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"torch_device": "cuda" if torch.cuda.is_available() else "cpu", "cpu_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def diagnose(settings: Settings) -> dict[str, dict[str, Any]]:
    from provenance.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        signals = {
            name: ("available: " + s.detail) if s.available else ("unavailable: " + s.detail)
            for name, s in runtime.fingerprinter.statuses().items()
        }
        store = {"url": _redact(settings.resolved_database_url), **runtime.store.stats()}
        runtime.warm(keypoints=False)  # status of the hash indexes; the keypoint index can take minutes
        index = runtime.searcher.status()
    finally:
        runtime.close()
    return {
        "versions": {"provenance": _version("provenance"), "python": platform.python_version(), **{p: _version(p) for p in _PACKAGES}},
        "device": _device(),
        "signals": signals,
        "store": store,
        "index": {k: v for k, v in index.items() if k != "indexes"} | {
            name: f"{v['frames']} frames" for name, v in index.get("indexes", {}).items()
        },
    }


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url

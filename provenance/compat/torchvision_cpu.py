"""Make ``import torchvision`` work with a CPU-only torch build.

PyPI has no CPU build of torchvision: its wheel ships a CUDA-linked ``_C.so``
that cannot load next to the CPU torch. torchvision then fails at import in
``_meta_registrations.py``, which registers fake kernels for the
``torchvision::nms`` and ``torchvision::qnms`` operators whose schemas the
extension would have defined. Defining those two schemas first makes the
package importable; transforms and models (all open_clip needs) work, compiled
ops such as ``nms`` raise when called.

Where the real extension loads, this module does nothing.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None  # keep a reference: a garbage-collected Library unregisters its ops
_applied = False


def _extension_path() -> Path | None:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for candidate in sorted(Path(folder).glob("_C*.so")) + sorted(Path(folder).glob("_C*.pyd")):
            return candidate
    return None


def _real_extension_loads(torch) -> bool:
    path = _extension_path()
    if path is None:
        return False
    try:
        torch.ops.load_library(str(path))
        return True
    except (OSError, RuntimeError):
        return False


def ensure_torchvision_importable() -> bool:
    """Prepare torch so that torchvision imports. Returns True if a shim was installed."""
    global _library, _applied
    if _applied:
        return _library is not None
    _applied = True
    import torch

    if _real_extension_loads(torch):
        return False
    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS.values():
        _library.define(schema)
    log.debug("torchvision C++ extension unavailable; defined stub schemas for nms/qnms")
    return True

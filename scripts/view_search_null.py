"""Calibration of the dense view search (``provenance.matching.view_search``).

Null: every picture in ``others/`` (not registered), as is and as 3 frames of a camera
pan over it, placed against every registered still: the per-pair distribution of the
``view`` channel on non-copies. Positives: 2 pans over every registered still (windows
40-80% of the still, 3 frames each), placed against their own still. Prints the largest
null score and the share of positive frames at or above ``similar``.

    python scripts/view_search_null.py [--media ../shared/media]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance.bench import video  # noqa: E402
from provenance.matching import scoring  # noqa: E402
from provenance.matching.view_search import find_view  # noqa: E402
from provenance.runtime import Runtime  # noqa: E402
from provenance.settings import Settings  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def query_gray(rgb: np.ndarray, side: int = 512) -> np.ndarray:
    """As the matcher sees a frame: grey, longer side 512."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = side / max(gray.shape)
    return cv2.resize(gray, (max(8, round(gray.shape[1] * scale)), max(8, round(gray.shape[0] * scale))), interpolation=cv2.INTER_AREA)


def score(found) -> float:
    return 0.0 if found is None else scoring.view_score(found.ncc, found.edge_ncc, found.runner_up)


def registered_stills(runtime: Runtime, folder: Path) -> dict[str, np.ndarray]:
    """Register every image under ``folder``; return its stored 384-px JPEG, grey, by name."""
    stills = {}
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        work = runtime.registrar.register(path, "calibration").work
        frame_id = next(f.id for f in runtime.store.frames_of_work(work.id) if f.variant == "full")
        jpeg = runtime.store.frame_images([frame_id])[frame_id].jpeg
        stills[path.stem] = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    return stills


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp), clip_enabled=False, signals=("pdq", "phash"), index_backend="faiss")
        runtime = Runtime.open(settings, with_provenance=False)
        stills = registered_stills(runtime, args.media / "works")
        runtime.close()

    null = []
    others = sorted(p for p in (args.media / "others").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    for n, path in enumerate(others):
        picture = video._load_still(path)
        frames, _ = video.pan_frames(picture, 2.0, 2.0, np.random.default_rng(n))
        for rgb in [picture, *frames[:3]]:
            gray = query_gray(rgb)
            null.extend(score(find_view(gray, reference)) for reference in stills.values())
        print(f"null: {n + 1}/{len(others)} pictures", end="\r", file=sys.stderr)

    video.PAN_WINDOW = (0.4, 0.8)
    positives = []
    for n, path in enumerate(sorted(p for p in (args.media / "works").rglob("*") if p.stem in stills)):
        picture = video._load_still(path)
        for repeat in range(2):
            frames, _ = video.pan_frames(picture, 2.0, 2.0, np.random.default_rng([n, repeat, 9]))
            positives.extend(score(find_view(query_gray(rgb), stills[path.stem])) for rgb in frames[:3])

    null_scores, positive_scores = np.array(null), np.array(positives)
    print(f"null pairs: {len(null_scores)}, largest view score {null_scores.max():.3f}, >= similar: {(null_scores >= scoring.SIMILAR_THRESHOLD).sum()}")
    print(
        f"positive frames: {len(positive_scores)}, >= similar: {(positive_scores >= scoring.SIMILAR_THRESHOLD).mean():.1%}, "
        f"median {np.median(positive_scores):.3f}"
    )


if __name__ == "__main__":
    main()

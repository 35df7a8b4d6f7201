"""Build the benchmark's query set: transformed copies with explicit ground truth.

Each query gets its own random generator derived from (seed, query number), so a query
does not change when other transforms are added or removed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageOps

from provenance.bench import video as video_edits
from provenance.bench.transforms import SAVE_QUALITY, ImageTransform
from provenance.bench.video import VideoTruth


@dataclass
class BenchQuery:
    id: str
    path: Path
    kind: str  # "image" | "video"
    transform: str
    family: str
    reference: str | None  # key of the copied reference; None for a negative query
    params: dict[str, Any] = field(default_factory=dict)
    truth: VideoTruth | None = None  # video queries: where the copy sits

    @property
    def negative(self) -> bool:
        return self.reference is None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = self.path.name
        return data


Progress = Callable[[str], None]


def load_picture(path: Path, max_side: int = 2048) -> Image.Image:
    """RGB picture as a viewer shows it (EXIF orientation, transparency on white)."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            canvas.alpha_composite(rgba)
            image = canvas
        picture = image.convert("RGB")
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return picture


def _save(picture: Image.Image, path: Path, already_lossy: bool) -> None:
    # edits that already encoded a low-quality JPEG are saved near-losslessly on top
    picture.save(path, format="JPEG", quality=97 if already_lossy else SAVE_QUALITY)


def _edited_query(picture: Image.Image, transform: ImageTransform, rng: np.random.Generator, target: Path, work: str | None, extra: dict) -> BenchQuery:
    """Apply ``transform``, save the result at ``target``, describe it as a query."""
    edited, params = transform.apply(picture, rng)
    _save(edited, target, transform.name in ("jpeg", "combination"))
    return BenchQuery(target.stem, target, "image", transform.name, transform.family, work, {**extra, **params})


def image_queries(
    references: dict[str, Path],
    negatives: list[Path],
    transforms: list[ImageTransform],
    per_transform: int,
    negative_edits: int,
    out_dir: Path,
    seed: int,
    progress: Progress | None = None,
) -> list[BenchQuery]:
    out_dir.mkdir(parents=True, exist_ok=True)
    queries: list[BenchQuery] = []
    number = 0
    for key, path in sorted(references.items()):
        picture = load_picture(path)
        for transform in transforms:
            for repeat in range(per_transform):
                number += 1
                rng = np.random.default_rng([seed, 1, number])
                queries.append(_edited_query(picture, transform, rng, out_dir / f"img{number:05d}.jpg", key, {}))
            if progress:
                progress(f"{path.name}: {transform.name}")
    for index, path in enumerate(sorted(negatives)):
        picture = load_picture(path)
        number += 1
        target = out_dir / f"neg{number:05d}.jpg"
        _save(picture, target, False)
        queries.append(BenchQuery(target.stem, target, "image", "identity", "identity", None, {"source": path.name}))
        rng = np.random.default_rng([seed, 2, index])
        for choice in rng.choice(len(transforms), size=min(negative_edits, len(transforms)), replace=False):
            number += 1
            rng = np.random.default_rng([seed, 3, number])
            queries.append(_edited_query(picture, transforms[int(choice)], rng, out_dir / f"neg{number:05d}.jpg", None, {"source": path.name}))
        if progress:
            progress(f"negative {path.name}")
    return queries


def video_queries(
    videos: dict[str, Path],
    stills: dict[str, Path],
    fillers: list[Path],
    edits: list[str],
    per_transform: int,
    still_pans: int,
    negative_clips: int,
    out_dir: Path,
    seed: int,
    progress: Progress | None = None,
) -> list[BenchQuery]:
    out_dir.mkdir(parents=True, exist_ok=True)
    queries: list[BenchQuery] = []
    number = 0
    for key, path in sorted(videos.items()):
        for name in edits:
            for repeat in range(per_transform):
                number += 1
                target = out_dir / f"vid{number:04d}.mp4"
                made = video_edits.VIDEO_EDITS[name](path, target, np.random.default_rng([seed, 4, number]), fillers)
                queries.append(BenchQuery(target.stem, target, "video", name, "video", key, made.params, made.truth))
                if progress:
                    progress(f"{path.name}: {name}")
    if stills and still_pans:
        rng = np.random.default_rng([seed, 5])
        keys = sorted(stills)
        for key in [keys[int(i)] for i in rng.choice(len(keys), size=min(still_pans, len(keys)), replace=False)]:
            number += 1
            target = out_dir / f"pan{number:04d}.mp4"
            made = video_edits.still_pan(stills[key], target, np.random.default_rng([seed, 6, number]))
            queries.append(BenchQuery(target.stem, target, "video", "still_pan", "video", key, made.params, made.truth))
            if progress:
                progress(f"pan over {stills[key].name}")
    for index in range(negative_clips):
        number += 1
        target = out_dir / f"negvid{number:04d}.mp4"
        made = video_edits.negative_clip(target, np.random.default_rng([seed, 7, index]), fillers)
        queries.append(BenchQuery(target.stem, target, "video", "negative_clip", "video", None, made.params, None))
        if progress:
            progress("negative clip")
    return queries


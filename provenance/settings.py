"""All configuration, read from the environment in one place.

Every setting is ``PROVENANCE_<NAME>``; the CLI's global options override the
home folder and the database URL. Code takes a ``Settings`` object rather than
reading the environment itself, so tests and the API can build their own.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _number(type_name: str, value: str) -> int | float:
    return int(value) if type_name == "int" else float(value)


@dataclass(frozen=True)
class MediaLimits:
    max_file_bytes: int = 2 * 1024**3  # 2 GiB
    max_pixels: int = 50_000_000  # per frame; refuses decompression bombs
    max_duration_s: float = 3 * 3600.0
    max_frames: int = 20_000  # sampled frames kept per file


@dataclass(frozen=True)
class SamplingConfig:
    fps: float = 1.0  # regular samples per second of video
    scene_cut_threshold: float = 0.35  # share of changed luma histogram mass that counts as a cut
    dedupe_threshold: float = 2.0  # mean abs diff (0..255) of 32x32 gray under which a sample repeats the last
    max_side: int = 1024  # frames are downscaled to at most this size before fingerprinting


@dataclass(frozen=True)
class Settings:
    home: Path = Path("./provenance-data")
    database_url: str | None = None  # None: SQLite at home/provenance.db
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"  # an open_clip tag or a path to a checkpoint
    clip_enabled: bool = True
    clip_batch_size: int = 16
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    signals: tuple[str, ...] = ("pdq", "phash", "clip")
    limits: MediaLimits = field(default_factory=MediaLimits)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    index_backend: str = "auto"  # "auto": pgvector on PostgreSQL, faiss otherwise; "faiss" forces in-process
    store_frame_images: bool = True  # keep a small JPEG per reference frame (report evidence, verification)
    match_threshold: float | None = None  # None: the calibrated default of the scorer
    similar_threshold: float | None = None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'provenance.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    def with_overrides(self, **changes: Any) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(f"PROVENANCE_{name}")
            return value if value not in (None, "") else None

        limits = MediaLimits(
            **{
                f.name: _number(f.type, v)
                for f in fields(MediaLimits)
                if (v := get(f.name.upper())) is not None
            }
        )
        sampling = SamplingConfig(
            **{
                f.name: _number(f.type, v)
                for f in fields(SamplingConfig)
                if (v := get(f"SAMPLE_{f.name.upper()}")) is not None
            }
        )
        base = cls(limits=limits, sampling=sampling)
        overrides: dict[str, Any] = {
            "home": Path(v) if (v := get("HOME")) else None,
            "database_url": get("DATABASE_URL"),
            "clip_model": get("CLIP_MODEL"),
            "clip_pretrained": get("CLIP_PRETRAINED"),
            "clip_enabled": _env_bool(v) if (v := get("CLIP_ENABLED")) else None,
            "clip_batch_size": int(v) if (v := get("CLIP_BATCH_SIZE")) else None,
            "device": get("DEVICE"),
            "signals": tuple(s.strip() for s in v.split(",") if s.strip()) if (v := get("SIGNALS")) else None,
            "index_backend": get("INDEX_BACKEND"),
            "store_frame_images": _env_bool(v) if (v := get("STORE_FRAME_IMAGES")) else None,
            "match_threshold": float(v) if (v := get("MATCH_THRESHOLD")) else None,
            "similar_threshold": float(v) if (v := get("SIMILAR_THRESHOLD")) else None,
        }
        return base.with_overrides(**overrides)

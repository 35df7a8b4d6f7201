"""Media made by the tests themselves: drawn images and H.264 clips (no network, no fixtures on disk)."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def drawn_image(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A distinctive, textured picture: random shapes over a gradient, different per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    gradient = np.linspace(0, 1, w)[None, :, None] * rng.uniform(40, 200, 3) + np.linspace(0, 1, h)[:, None, None] * rng.uniform(0, 120, 3)
    image = Image.fromarray(np.clip(gradient, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(10, w // 3)), y0 + int(rng.integers(10, h // 3))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        [draw.rectangle, draw.ellipse][int(rng.integers(0, 2))]((x0, y0, x1, y1), fill=colour)
    return image


def write_video(
    path: Path,
    frames: list[np.ndarray] | None = None,
    *,
    seconds: float = 3.0,
    fps: int = 24,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    codec: str = "libx264",
    container_format: str | None = None,
) -> Path:
    """Encode ``frames`` (or a slow pan over a drawn image) as a video file."""
    w, h = size
    if frames is None:
        canvas = np.asarray(drawn_image(seed, (w * 2, h)))
        count = int(seconds * fps)
        frames = [canvas[:, int(i * w / max(1, count - 1)) : int(i * w / max(1, count - 1)) + w] for i in range(count)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def scene_video(path: Path, scene_seeds: list[int], seconds_per_scene: float = 2.0, fps: int = 24, size=(320, 240)) -> Path:
    """Hard cuts between static drawn scenes."""
    frames = []
    for seed in scene_seeds:
        still = np.asarray(drawn_image(seed, size))
        frames.extend([still] * int(seconds_per_scene * fps))
    return write_video(path, frames, fps=fps, size=size)


def audio_only_mp4(path: Path) -> Path:
    """An MP4 holding one second of a tone and no video stream."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        samples = (np.sin(np.arange(44100) / 10) * 3000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def matching_runtime(root: Path):
    """A runtime over a fresh SQLite store in ``root``, matching on PDQ and pHash with the
    in-process indexes (CLIP off: no weights in tests), as the matching tests need."""
    from provenance.runtime import Runtime
    from provenance.settings import Settings

    settings = Settings(home=root / "home", database_url=f"sqlite:///{root / 'store.db'}", clip_enabled=False, signals=("pdq", "phash"), index_backend="faiss")
    return Runtime.open(settings, with_provenance=False)

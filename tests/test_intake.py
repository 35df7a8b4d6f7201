"""Media intake: formats identified by content, orientation and transparency, video sampling, limits and bad input."""
from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from provenance.errors import CorruptMediaError, MediaTooLargeError, UnsupportedMediaError
from provenance.media import identify, load_media
from provenance.settings import MediaLimits, Settings
from tests.media_factory import audio_only_mp4, drawn_image, scene_video, write_video

SETTINGS = Settings()


def test_image_formats_are_identified_by_content_not_name(tmp_path: Path) -> None:
    image = drawn_image(1)
    for fmt, name in [("JPEG", "a.png"), ("PNG", "b.jpg"), ("WEBP", "c.mp4")]:
        path = tmp_path / name
        image.save(path, format=fmt)
        sample = load_media(path, SETTINGS)
        assert sample.kind == "image"
        assert sample.source.format == fmt.lower().replace("jpeg", "jpeg")
        assert sample.frames[0].rgb.shape == (480, 640, 3)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = drawn_image(2, (400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    sample = load_media(path, SETTINGS)
    assert (sample.width, sample.height) == (200, 400)
    assert sample.frames[0].rgb.shape[:2] == (400, 200)


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (100, 100), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (25, 25, 75, 75))
    path = tmp_path / "alpha.png"
    rgba.save(path)
    rgb = load_media(path, SETTINGS).frames[0].rgb
    assert tuple(rgb[5, 5]) == (255, 255, 255)
    assert tuple(rgb[50, 50]) == (0, 0, 255)


def test_large_images_are_downscaled_for_fingerprinting(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    drawn_image(3, (3000, 1500)).save(path)
    sample = load_media(path, SETTINGS)
    assert (sample.width, sample.height) == (3000, 1500)
    assert max(sample.frames[0].rgb.shape[:2]) == SETTINGS.sampling.max_side


@pytest.mark.parametrize("fmt,codec", [("mp4", "libx264"), ("mov", "libx264"), ("mkv", "libx264"), ("webm", "libvpx-vp9"), ("avi", "mpeg4")])
def test_video_containers(tmp_path: Path, fmt: str, codec: str) -> None:
    path = write_video(tmp_path / f"clip.{fmt}", seconds=2.0, codec=codec)
    sample = load_media(path, SETTINGS)
    assert sample.kind == "video"
    assert sample.source.format == fmt
    assert 1.8 <= sample.duration <= 2.2
    assert [f.timestamp for f in sample.frames][:2] == [0.0, 1.0]


def test_video_sampling_rate_timestamps_and_scene_cuts(tmp_path: Path) -> None:
    path = scene_video(tmp_path / "scenes.mp4", [10, 11, 12], seconds_per_scene=2.5)
    sample = load_media(path, SETTINGS)
    cuts = [f.timestamp for f in sample.frames if f.reason == "scene_cut"]
    assert cuts == pytest.approx([2.5, 5.0], abs=0.05)
    # static scenes: the 1 fps samples inside a scene repeat the scene's first frame and are dropped
    assert len(sample.frames) == 3
    assert all(b.timestamp > a.timestamp for a, b in zip(sample.frames, sample.frames[1:]))
    assert sample.decoded_frames == 180


def test_sampling_rate_is_configurable(tmp_path: Path) -> None:
    path = write_video(tmp_path / "pan.mp4", seconds=3.0)
    settings = dataclasses.replace(SETTINGS, sampling=dataclasses.replace(SETTINGS.sampling, fps=2.0))
    times = [f.timestamp for f in load_media(path, settings).frames]
    assert times[:6] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], abs=0.05)


# -- bad input: a clear error, nothing half-done -------------------------------------------


def test_zero_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(CorruptMediaError, match="empty"):
        load_media(path, SETTINGS)


def test_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video, whatever the name says\n" * 10)
    with pytest.raises(UnsupportedMediaError, match="not a supported image"):
        load_media(path, SETTINGS)


def test_truncated_jpeg(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    drawn_image(4).save(buffer, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    with pytest.raises(CorruptMediaError, match="damaged or truncated"):
        load_media(path, SETTINGS)


def test_truncated_and_corrupt_video(tmp_path: Path) -> None:
    whole = write_video(tmp_path / "whole.mp4", seconds=4.0).read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CorruptMediaError):
        load_media(truncated, SETTINGS)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(whole[:64] + bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8)))
    with pytest.raises(CorruptMediaError):
        load_media(garbage, SETTINGS)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims huge dimensions: a decompression bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def test_huge_dimensions_are_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    with pytest.raises(MediaTooLargeError, match="decompression bomb|exceeds the limit"):
        load_media(path, SETTINGS)
    path.write_bytes(_png_header_only(9_000, 9_000))  # under Pillow's own guard, over ours
    with pytest.raises(MediaTooLargeError, match="exceeds the limit"):
        load_media(path, SETTINGS)


def test_limits_on_file_size_duration_and_video_pixels(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.mp4", seconds=3.0)
    tight = dataclasses.replace(SETTINGS, limits=MediaLimits(max_duration_s=1.0))
    with pytest.raises(MediaTooLargeError, match="limit of 1 s"):
        load_media(video, tight)
    small_files = dataclasses.replace(SETTINGS, limits=MediaLimits(max_file_bytes=100))
    with pytest.raises(MediaTooLargeError, match="bytes exceeds"):
        load_media(video, small_files)
    few_pixels = dataclasses.replace(SETTINGS, limits=MediaLimits(max_pixels=1000))
    with pytest.raises(MediaTooLargeError, match="pixels per frame"):
        load_media(video, few_pixels)


def test_hostile_file_names_are_only_displayed(tmp_path: Path) -> None:
    weird = tmp_path / "..;rm -rf ~;\u202e\u0007.png"
    drawn_image(5).save(weird, format="PNG")
    source = identify(weird, SETTINGS)
    assert source.format == "png" and len(source.sha256) == 64


def test_audio_only_file_is_refused(tmp_path: Path) -> None:
    path = audio_only_mp4(tmp_path / "tone.mp4")
    with pytest.raises(UnsupportedMediaError, match="no video stream"):
        load_media(path, SETTINGS)

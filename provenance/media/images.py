"""Still images: decode with Pillow, apply EXIF orientation, flatten transparency."""
from __future__ import annotations

import warnings

import numpy as np
from PIL import Image, ImageOps

from provenance.errors import CorruptMediaError, MediaTooLargeError
from provenance.media.frames import Frame, MediaSample, MediaSource
from provenance.settings import MediaLimits

def flatten_alpha(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Composite transparency onto white, as viewers show most transparent artwork."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, background + (255,))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return image.convert("RGB")


def downscale(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _text_metadata(image: Image.Image) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in image.info.items():
        if isinstance(value, (str, int, float)):
            tags[str(key)] = str(value)[:2000]
        elif key == "xmp" and isinstance(value, bytes):
            tags["xmp"] = value.decode("utf-8", "replace")[:20000]
    try:
        for tag, value in image.getexif().items():
            if isinstance(value, (str, int, float)):
                tags[f"exif:{tag}"] = str(value)[:2000]
    except Exception:  # damaged EXIF must not reject a decodable image
        pass
    return tags


def load_image(source: MediaSource, limits: MediaLimits, max_side: int) -> MediaSample:
    try:
        # Our pixel limit is checked from the header before decoding; Pillow's own bomb
        # check (a warning below twice its default) is made an error as a second guard.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _decode(source, limits, max_side)
    except MediaTooLargeError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise MediaTooLargeError(f"{source.path.name}: refused as a decompression bomb ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptMediaError(f"{source.path.name}: the {source.format.upper()} data is damaged or truncated ({exc})") from exc


def _decode(source: MediaSource, limits: MediaLimits, max_side: int) -> MediaSample:
    with Image.open(source.path) as image:
        width, height = image.size
        if width * height > limits.max_pixels:
            raise MediaTooLargeError(
                f"{source.path.name}: {width}x{height} pixels exceeds the limit of {limits.max_pixels:,} pixels"
            )
        metadata = _text_metadata(image)
        image.load()
        rgb = flatten_alpha(ImageOps.exif_transpose(image))
    frame = Frame(index=0, timestamp=0.0, rgb=np.asarray(downscale(rgb, max_side)), reason="still")
    return MediaSample(
        source=source, frames=[frame], width=rgb.width, height=rgb.height, duration=0.0, metadata=metadata
    )

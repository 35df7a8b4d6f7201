"""Seeded image edits that copies of a picture carry in the wild.

Every transform takes an RGB Pillow image and a ``numpy.random.Generator`` and returns
the edited image with the parameters it drew, so a benchmark run is reproducible from
its seed and every query's ground truth and edit are explicit. Parameter ranges are
module constants (documented in docs/accuracy.md).
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

Params = dict[str, Any]
Apply = Callable[[Image.Image, np.random.Generator], tuple[Image.Image, Params]]

JPEG_QUALITY = (8, 25)  # "low quality" re-encodes
DOWNSCALE = (0.15, 0.4)  # kept share of each side
CROP_KEEP = (0.60, 0.85)  # kept share of each side
PAD = (0.10, 0.40)  # added border per side, share of the side
ROTATE_DEGREES = (3.0, 12.0)
BLUR_RADIUS = (0.004, 0.01)  # share of the longer side
NOISE_SIGMA = (10.0, 28.0)
SCREENSHOT_SCALE = (0.35, 0.7)  # picture's share of the canvas' longer side
STRETCH = (1.2, 1.45)  # one axis scaled by this (or its inverse)
PERSPECTIVE = (0.03, 0.08)  # corner displacement, share of the side
SAVE_QUALITY = 90  # the JPEG quality every other query is saved with (a typical upload)

_WORDS = "when you finally see it the original copy remix daily meme credit unknown best of share this".split()


@dataclass(frozen=True)
class ImageTransform:
    name: str
    family: str
    apply: Apply


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    choice = rng.integers(0, 4)
    if choice == 0:
        return (0, 0, 0)
    if choice == 1:
        return (255, 255, 255)
    return tuple(int(c) for c in rng.integers(0, 256, 3))  # type: ignore[return-value]


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(8, size))


def _text(rng: np.random.Generator, words: int) -> str:
    return " ".join(str(w) for w in rng.choice(_WORDS, size=words)).upper()


# -- individual edits ---------------------------------------------------------------
def jpeg(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), {"quality": quality}


def downscale(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    factor = _uniform(rng, DOWNSCALE)
    size = (max(48, round(image.width * factor)), max(48, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR), {"factor": round(factor, 3)}


def crop_centre(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    keep = _uniform(rng, CROP_KEEP)
    w, h = round(image.width * keep), round(image.height * keep)
    x, y = (image.width - w) // 2, (image.height - h) // 2
    return image.crop((x, y, x + w, y + h)), {"keep": round(keep, 3)}


def crop_offcentre(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    kw, kh = _uniform(rng, CROP_KEEP), _uniform(rng, CROP_KEEP)
    w, h = round(image.width * kw), round(image.height * kh)
    # anchored towards a random corner: at least half of the removed margin on one side
    fx, fy = rng.choice([rng.uniform(0, 0.25), rng.uniform(0.75, 1.0)]), rng.choice([rng.uniform(0, 0.25), rng.uniform(0.75, 1.0)])
    x, y = round((image.width - w) * fx), round((image.height - h) * fy)
    return image.crop((x, y, x + w, y + h)), {"keep_w": round(kw, 3), "keep_h": round(kh, 3), "x": round(float(fx), 2), "y": round(float(fy), 2)}


def pad(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    sides = [_uniform(rng, PAD) for _ in range(4)]
    colour = _colour(rng)
    left, top, right, bottom = (round(s * (image.width if i % 2 == 0 else image.height)) for i, s in enumerate(sides))
    canvas = Image.new("RGB", (image.width + left + right, image.height + top + bottom), colour)
    canvas.paste(image, (left, top))
    return canvas, {"sides": [round(s, 3) for s in sides], "colour": list(colour)}


def letterbox(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    """Fit into a frame of another aspect ratio (16:9, 9:16, 1:1, 4:3) with bars."""
    aspect = float(rng.choice([16 / 9, 9 / 16, 1.0, 4 / 3]))
    if abs(image.width / image.height - aspect) < 0.08:
        aspect = aspect * 1.5 if aspect < 1.5 else aspect / 1.5
    colour = (0, 0, 0) if rng.random() < 0.7 else _colour(rng)
    if image.width / image.height > aspect:
        size = (image.width, round(image.width / aspect))
    else:
        size = (round(image.height * aspect), image.height)
    canvas = Image.new("RGB", size, colour)
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return canvas, {"aspect": round(aspect, 3), "colour": list(colour)}


def rotate(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    angle = _uniform(rng, ROTATE_DEGREES) * (1 if rng.random() < 0.5 else -1)
    expand = bool(rng.random() < 0.5)
    fill = _colour(rng) if expand else (0, 0, 0)
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=fill), {"degrees": round(angle, 2), "expand": expand}


def flip(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    return ImageOps.mirror(image), {}


def caption(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    """Meme-style text: a band added above/below, or outlined text over the picture."""
    text = _text(rng, int(rng.integers(2, 6)))
    if rng.random() < 0.5:
        band = round(image.height * rng.uniform(0.12, 0.25))
        canvas = Image.new("RGB", (image.width, image.height + band), (255, 255, 255))
        on_top = bool(rng.random() < 0.5)
        canvas.paste(image, (0, band if on_top else 0))
        draw = ImageDraw.Draw(canvas)
        font = _font(round(band * 0.45))
        y = band * 0.25 if on_top else image.height + band * 0.25
        draw.text((image.width * 0.04, y), text, fill=(0, 0, 0), font=font)
        return canvas, {"style": "band", "top": on_top, "text": text}
    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    font = _font(round(image.height * rng.uniform(0.07, 0.12)))
    for row in (0.04, 0.82):
        draw.text((image.width * 0.05, image.height * row), text, fill=(255, 255, 255), font=font, stroke_width=max(1, font.size // 12), stroke_fill=(0, 0, 0))
    return canvas, {"style": "overlay", "text": text}


def watermark(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    """A semi-transparent logo/text stamp, in a corner or tiled over the picture."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    opacity = int(rng.uniform(0.3, 0.6) * 255)
    text = "© " + _text(rng, 1)
    tiled = bool(rng.random() < 0.5)
    font = _font(round(min(image.size) * (rng.uniform(0.05, 0.08) if tiled else rng.uniform(0.08, 0.14))))
    if tiled:
        step_x, step_y = max(40, image.width // 3), max(30, image.height // 4)
        for y in range(0, image.height, step_y):
            for x in range(-(y // 2) % step_x - step_x, image.width, step_x):
                draw.text((x, y), text, fill=(255, 255, 255, opacity), font=font)
    else:
        x = image.width * (0.05 if rng.random() < 0.5 else 0.55)
        y = image.height * (0.05 if rng.random() < 0.5 else 0.8)
        box = draw.textbbox((x, y), text, font=font)
        draw.rectangle((box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6), fill=(0, 0, 0, opacity // 2))
        draw.text((x, y), text, fill=(255, 255, 255, opacity), font=font)
    out = Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")
    return out, {"tiled": tiled, "opacity": round(opacity / 255, 2)}


def colour_jitter(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    brightness, contrast, saturation = rng.uniform(0.7, 1.3), rng.uniform(0.7, 1.3), rng.uniform(0.4, 1.6)
    hue = int(rng.integers(-25, 26))
    out = ImageEnhance.Brightness(image).enhance(brightness)
    out = ImageEnhance.Contrast(out).enhance(contrast)
    out = ImageEnhance.Color(out).enhance(saturation)
    hsv = np.asarray(out.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + hue * 256 // 360) % 256
    out = Image.fromarray(hsv, "HSV").convert("RGB")
    return out, {"brightness": round(brightness, 2), "contrast": round(contrast, 2), "saturation": round(saturation, 2), "hue": hue}


def blur(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    radius = _uniform(rng, BLUR_RADIUS) * max(image.size)
    return image.filter(ImageFilter.GaussianBlur(radius)), {"radius_px": round(radius, 2)}


def noise(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    sigma = _uniform(rng, NOISE_SIGMA)
    pixels = np.asarray(image).astype(np.float32) + rng.normal(0, sigma, (image.height, image.width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), {"sigma": round(sigma, 1)}


def grayscale(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    return image.convert("L").convert("RGB"), {}


def screenshot(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    """The picture shrunk inside a larger app/browser frame with chrome and text around it."""
    portrait = bool(rng.random() < 0.3)
    canvas_size = (720, 1280) if portrait else (1280, int(rng.choice([720, 800, 900])))
    dark = bool(rng.random() < 0.4)
    background = (24, 24, 28) if dark else (245, 245, 247)
    ink = (220, 220, 220) if dark else (40, 40, 40)
    canvas = Image.new("RGB", canvas_size, background)
    draw = ImageDraw.Draw(canvas)
    bar = round(canvas_size[1] * 0.06)
    draw.rectangle((0, 0, canvas_size[0], bar), fill=(60, 60, 70) if dark else (210, 210, 215))
    for i, colour in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        draw.ellipse((12 + i * 22, bar // 2 - 7, 26 + i * 22, bar // 2 + 7), fill=colour)
    font = _font(max(12, bar // 3))
    draw.text((100, bar // 3), "https://example.social/" + _text(rng, 2).lower().replace(" ", "-"), fill=ink, font=font)
    share = _uniform(rng, SCREENSHOT_SCALE)
    scale = share * max(canvas_size) / max(image.size)
    scale = min(scale, 0.92 * canvas_size[0] / image.width, 0.8 * (canvas_size[1] - bar) / image.height)
    shown = image.resize((max(16, round(image.width * scale)), max(16, round(image.height * scale))), Image.Resampling.BILINEAR)
    x = int(rng.integers(0, max(1, canvas_size[0] - shown.width)))
    y = bar + int(rng.integers(round(canvas_size[1] * 0.04), max(round(canvas_size[1] * 0.04) + 1, canvas_size[1] - bar - shown.height)))
    canvas.paste(shown, (x, y))
    for line in range(4):  # post text below or above the picture
        ty = y + shown.height + 12 + line * (font.size + 6)
        if ty + font.size < canvas_size[1]:
            draw.text((x, ty), _text(rng, 4).lower(), fill=ink, font=font)
    return canvas, {"share": round(share, 3), "canvas": list(canvas_size), "dark": dark}


def stretch(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    factor = _uniform(rng, STRETCH)
    horizontal = bool(rng.random() < 0.5)
    if rng.random() < 0.5:
        factor = 1 / factor
    size = (round(image.width * factor), image.height) if horizontal else (image.width, round(image.height * factor))
    return image.resize(size, Image.Resampling.BICUBIC), {"factor": round(factor, 3), "axis": "x" if horizontal else "y"}


def perspective(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    w, h = image.size
    amount = _uniform(rng, PERSPECTIVE)
    d = rng.uniform(0, amount, 8) * np.array([w, h] * 4)
    # target quad (where the picture's corners land), inside the same canvas
    target = np.array([[d[0], d[1]], [w - d[2], d[3]], [w - d[4], h - d[5]], [d[6], h - d[7]]])
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    coefficients = _perspective_coefficients(target, source)
    out = image.transform((w, h), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    return out, {"amount": round(amount, 3)}


def _perspective_coefficients(target: np.ndarray, source: np.ndarray) -> tuple[float, ...]:
    """Pillow maps output pixels to input pixels: solve for target -> source."""
    rows = []
    for (x, y), (u, v) in zip(target, source):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    solution = np.linalg.solve(np.array(rows, dtype=np.float64), source.reshape(8))
    return tuple(float(c) for c in solution)


_COMBINABLE: tuple[tuple[str, Apply], ...] = (
    ("crop_offcentre", crop_offcentre),
    ("pad", pad),
    ("flip", flip),
    ("colour_jitter", colour_jitter),
    ("caption", caption),
    ("rotate", rotate),
    ("stretch", stretch),
    ("downscale", downscale),
    ("grayscale", grayscale),
    ("watermark", watermark),
)


def combination(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, Params]:
    """Two or three edits from the list above, then a low-quality JPEG re-encode."""
    chosen = rng.choice(len(_COMBINABLE), size=int(rng.integers(2, 4)), replace=False)
    steps: list[dict] = []
    out = image
    for index in sorted(chosen):
        name, apply = _COMBINABLE[index]
        out, params = apply(out, rng)
        steps.append({"edit": name, **params})
    quality = int(rng.integers(30, 60))
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=quality)
    steps.append({"edit": "jpeg", "quality": quality})
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), {"steps": steps}


IMAGE_TRANSFORMS: tuple[ImageTransform, ...] = (
    ImageTransform("jpeg", "jpeg", jpeg),
    ImageTransform("downscale", "downscale", downscale),
    ImageTransform("crop_centre", "crop", crop_centre),
    ImageTransform("crop_offcentre", "crop", crop_offcentre),
    ImageTransform("pad", "padding", pad),
    ImageTransform("letterbox", "padding", letterbox),
    ImageTransform("rotate", "rotate", rotate),
    ImageTransform("flip", "flip", flip),
    ImageTransform("caption", "overlay", caption),
    ImageTransform("watermark", "overlay", watermark),
    ImageTransform("colour_jitter", "colour", colour_jitter),
    ImageTransform("grayscale", "colour", grayscale),
    ImageTransform("blur", "blur", blur),
    ImageTransform("noise", "noise", noise),
    ImageTransform("screenshot", "screenshot", screenshot),
    ImageTransform("stretch", "stretch", stretch),
    ImageTransform("perspective", "perspective", perspective),
    ImageTransform("combination", "combination", combination),
)

QUICK_TRANSFORMS = ("crop_offcentre", "pad", "flip", "screenshot", "jpeg", "combination")


def by_name(names: list[str] | tuple[str, ...] | None = None) -> list[ImageTransform]:
    if not names:
        return list(IMAGE_TRANSFORMS)
    known = {t.name: t for t in IMAGE_TRANSFORMS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown transform(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]

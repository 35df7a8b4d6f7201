"""Logo templates an admin registers: the visible-watermark detector searches for them.

The PNG is stored as uploaded (its alpha channel is the logo's mask); width and height
are read from it. Validation errors are ``LogoError`` with a sentence a person can act on.
"""
from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from reference_db.models import LogoTemplate

MAX_LOGO_BYTES = 5 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 16, 4096


class LogoError(ValueError):
    """A logo template that cannot be stored, or one that does not exist."""


def validate_logo_png(png_bytes: bytes) -> tuple[int, int]:
    """Width and height of a usable logo PNG, or ``LogoError`` saying what is wrong."""
    if not png_bytes:
        raise LogoError("the logo file is empty")
    if len(png_bytes) > MAX_LOGO_BYTES:
        raise LogoError(f"the logo file is {len(png_bytes)} bytes; the limit is {MAX_LOGO_BYTES}")
    try:
        with Image.open(io.BytesIO(png_bytes)) as im:
            if im.format != "PNG":
                raise LogoError(f"the logo must be a PNG (with transparency where it has none), got {im.format}")
            width, height = im.size
            if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                raise LogoError(f"the logo is {width}x{height}; each side must be {MIN_SIDE}..{MAX_SIDE} pixels")
            im.load()
            rgba = im.convert("RGBA")
    except LogoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise LogoError(f"the logo is not a readable PNG: {exc}") from exc
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[1] == 0:
        raise LogoError("the logo is fully transparent")
    lo, hi = rgba.convert("L").getextrema()
    if hi - lo < 16:
        raise LogoError("the logo is a flat colour: it has no shape to search for")
    # The detector needs some edges; reuse its own check so the rule lives in one place.
    from provenance.detectors.visible_logo import prepare_logo

    try:
        prepare_logo("logo", png_bytes)
    except ValueError as exc:
        raise LogoError(str(exc)) from exc
    return width, height


def add_logo(session: Session, name: str, png_bytes: bytes) -> LogoTemplate:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise LogoError("a logo needs a name of 1..200 characters")
    if session.scalar(select(LogoTemplate).where(LogoTemplate.name == name)) is not None:
        raise LogoError(f"a logo named {name!r} already exists; remove it first to replace it")
    width, height = validate_logo_png(png_bytes)
    logo = LogoTemplate(name=name, png=png_bytes, width=width, height=height)
    session.add(logo)
    session.flush()
    return logo


def list_logos(session: Session) -> list[LogoTemplate]:
    return list(session.scalars(select(LogoTemplate).order_by(LogoTemplate.name)))


def remove_logo(session: Session, name: str) -> None:
    logo = session.scalar(select(LogoTemplate).where(LogoTemplate.name == name))
    if logo is None:
        raise LogoError(f"no logo named {name!r}")
    session.delete(logo)
    session.flush()

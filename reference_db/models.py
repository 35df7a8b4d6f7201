"""SQLAlchemy models of the reference store. Schema changes go through Alembic
(``reference_db/migrations``); these classes and the migrations must agree."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from reference_db.types import Embedding, HashBits

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class RightsHolder(Base):
    __tablename__ = "rights_holders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    works: Mapped[list["Work"]] = relationship(back_populates="holder")


class Work(Base):
    __tablename__ = "works"
    __table_args__ = (UniqueConstraint("holder_id", "sha256", name="uq_work_holder_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("rights_holders.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(16))  # "image" | "video"
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_format: Mapped[str] = mapped_column(String(32))
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    opt_out_train: Mapped[bool] = mapped_column(Boolean, default=False)
    opt_out_generate: Mapped[bool] = mapped_column(Boolean, default=False)
    source_name: Mapped[str] = mapped_column(String(255), default="")  # display only, never a path
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    holder: Mapped[RightsHolder] = relationship(back_populates="works")
    frames: Mapped[list["ReferenceFrame"]] = relationship(
        back_populates="work", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def opted_out(self) -> bool:
        return self.opt_out_train or self.opt_out_generate


class ReferenceFrame(Base):
    """Fingerprints of one sampled frame of a work (one row per frame and variant)."""

    __tablename__ = "reference_frames"
    __table_args__ = (Index("ix_reference_frames_work_position", "work_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # index of the sample within the work
    timestamp: Mapped[float] = mapped_column(Float)  # seconds; 0 for a still
    variant: Mapped[str] = mapped_column(String(32), default="full")  # "full", or a derived view such as a crop
    pdq: Mapped[bytes | None] = mapped_column(HashBits(256), nullable=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phash: Mapped[bytes | None] = mapped_column(HashBits(64), nullable=True)
    clip: Mapped[np.ndarray | None] = mapped_column(Embedding(), nullable=True)
    clip_model: Mapped[str | None] = mapped_column(String(120), nullable=True)

    work: Mapped[Work] = relationship(back_populates="frames")


class FrameImage(Base):
    """A small JPEG of a reference frame: evidence in reports, input to verification."""

    __tablename__ = "frame_images"

    frame_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("reference_frames.id", ondelete="CASCADE"), primary_key=True
    )
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class StoreChange(Base):
    """Append-only log of work additions and removals.

    In-process indexes replay it from the last id they applied, so every process
    (API, workers, CLI) stays fresh without ever rebuilding from scratch.
    """

    __tablename__ = "store_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    work_id: Mapped[int] = mapped_column(Integer, index=True)  # no FK: removals outlive the work
    action: Mapped[str] = mapped_column(String(8))  # "add" | "remove"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LogoTemplate(Base):
    """A visible watermark or logo an admin registered, searched for in scanned frames."""

    __tablename__ = "logo_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

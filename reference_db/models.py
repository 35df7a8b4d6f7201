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


# SQLite reuses the largest deleted INTEGER PRIMARY KEY unless a table is AUTOINCREMENT;
# a removed work's id (or frame ids) coming back as a new work would confuse indexes,
# caches and stored reports, so every table whose ids are referenced elsewhere says so.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class RightsHolder(Base):
    __tablename__ = "rights_holders"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    works: Mapped[list["Work"]] = relationship(back_populates="holder")


class Work(Base):
    __tablename__ = "works"
    __table_args__ = (UniqueConstraint("holder_id", "sha256", name="uq_work_holder_sha256"), NEVER_REUSE_IDS)

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
    __table_args__ = (Index("ix_reference_frames_work_position", "work_id", "position"), NEVER_REUSE_IDS)

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
    __table_args__ = NEVER_REUSE_IDS

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


# -- HTTP service: API keys and durable scan jobs ----------------------------------------
class ApiKey(Base):
    """An API key. Only the SHA-256 of the secret is stored; the secret is shown once.

    ``prefix`` (the first characters of the secret) finds the row; the hash is then
    compared in constant time. A ``rights_holder`` key is bound to one holder.
    """

    __tablename__ = "api_keys"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))  # admin | rights_holder | reviewer | optout_client
    holder_id: Mapped[int | None] = mapped_column(
        ForeignKey("rights_holders.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")  # a label for people, never secret
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    holder: Mapped[RightsHolder | None] = relationship()


class ScanJob(Base):
    """A review scan: a durable job claimed by workers, holding its report when done.

    Status moves queued -> running -> done | failed. A running job carries the claiming
    worker's id and a lease the worker keeps extending; a job whose lease ran out (its
    worker died) is claimed again. Only the worker holding the lease can finish it.
    """

    __tablename__ = "scan_jobs"
    __table_args__ = (
        Index("ix_scan_jobs_status_available", "status", "available_at"),
        Index("ix_scan_jobs_owner_created", "owner_key_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # random and unguessable
    owner_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    blob_sha256: Mapped[str] = mapped_column(String(64), index=True)  # the upload in the blob store
    media_format: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    source_name: Mapped[str] = mapped_column(String(255), default="")  # display only, never a path
    top: Mapped[int] = mapped_column(Integer, default=5)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims so far, the current one included
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # retry back-off
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # the SCAN schema
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # query frame -> thumbnail blob
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

"""The reference store: rights holders, works and their frame fingerprints.

One ``Store`` wraps one database (SQLite file by default, PostgreSQL when configured).
Every addition or removal of a work is written together with a ``StoreChange`` row in
the same transaction, which is what lets indexes in any process catch up incrementally.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from provenance.errors import NotFoundError
from reference_db.engine import open_engine
from reference_db.models import FrameImage, ReferenceFrame, RightsHolder, StoreChange, Work


# Key of the PostgreSQL advisory lock that orders change-log writes (see Store._log_change).
CHANGE_LOG_LOCK = 0x70726F76  # "prov"


@dataclass
class FrameRecord:
    """Fingerprints of one reference frame, ready to store."""

    position: int
    timestamp: float
    variant: str = "full"
    columns: dict[str, Any] = field(default_factory=dict)  # signal columns: pdq, pdq_quality, phash, clip, clip_model
    jpeg: bytes | None = None
    jpeg_size: tuple[int, int] | None = None


@dataclass
class NewWork:
    holder: str
    title: str
    kind: str
    sha256: str
    size_bytes: int
    media_format: str
    duration: float
    width: int
    height: int
    opt_out_train: bool = False
    opt_out_generate: bool = False
    source_name: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FrameRow:
    """What an index needs of a stored frame."""

    frame_id: int
    work_id: int
    value: Any


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, database_url: str) -> "Store":
        return cls(open_engine(database_url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            with session.begin():
                yield session

    def close(self) -> None:
        self.engine.dispose()

    # -- rights holders ------------------------------------------------------------
    def get_or_create_holder(self, session: Session, name: str) -> RightsHolder:
        name = name.strip()
        if not name:
            raise ValueError("a rights holder needs a non-empty name")
        holder = session.scalar(select(RightsHolder).where(RightsHolder.name == name))
        if holder is None:
            holder = RightsHolder(name=name)
            session.add(holder)
            session.flush()
        return holder

    def list_holders(self) -> list[RightsHolder]:
        with self.session() as session:
            return list(session.scalars(select(RightsHolder).order_by(RightsHolder.id)))

    # -- works ---------------------------------------------------------------------
    def find_work(self, session: Session, holder_id: int, sha256: str) -> Work | None:
        return session.scalar(select(Work).where(Work.holder_id == holder_id, Work.sha256 == sha256))

    def add_work(self, new: NewWork, frames: Sequence[FrameRecord]) -> tuple[Work, bool]:
        """Store a work with its frames. Idempotent: the same bytes for the same holder
        return the existing work and ``created=False``."""
        try:
            with self.session() as session:
                holder = self.get_or_create_holder(session, new.holder)
                existing = self.find_work(session, holder.id, new.sha256)
                if existing is not None:
                    return existing, False
                columns = {f.name: getattr(new, f.name) for f in fields(new) if f.name not in ("holder", "metadata")}
                work = Work(holder_id=holder.id, extra=new.metadata, **columns)
                session.add(work)
                session.flush()
                self._add_frames(session, work.id, frames)
                self._log_change(session, work.id, "add")
                work.holder = holder
            return work, True
        except IntegrityError:
            # a concurrent registration of the same bytes won the race: return its work
            with self.session() as session:
                holder = self.get_or_create_holder(session, new.holder)
                existing = self.find_work(session, holder.id, new.sha256)
                if existing is None:
                    raise
                return existing, False

    def _add_frames(self, session: Session, work_id: int, frames: Sequence[FrameRecord]) -> None:
        rows = [
            ReferenceFrame(work_id=work_id, position=f.position, timestamp=f.timestamp, variant=f.variant, **f.columns)
            for f in frames
        ]
        session.add_all(rows)
        session.flush()
        for row, record in zip(rows, frames):
            if record.jpeg is not None and record.jpeg_size is not None:
                session.add(FrameImage(frame_id=row.id, jpeg=record.jpeg, width=record.jpeg_size[0], height=record.jpeg_size[1]))

    def get_work(self, work_id: int) -> Work:
        with self.session() as session:
            work = session.get(Work, work_id)
            if work is None:
                raise NotFoundError(f"no work with id {work_id}")
            work.holder  # load while the session is open
            return work

    def works_by_id(self, work_ids: Sequence[int]) -> dict[int, Work]:
        with self.session() as session:
            works = {w.id: w for w in session.scalars(select(Work).where(Work.id.in_(list(work_ids))))}
            for work in works.values():
                work.holder
            return works

    def list_works(
        self, holder: str | None = None, offset: int = 0, limit: int | None = None, opted_out: bool | None = None
    ) -> list[Work]:
        with self.session() as session:
            query = select(Work).join(RightsHolder).order_by(Work.id).offset(offset)
            if holder is not None:
                query = query.where(RightsHolder.name == holder)
            if opted_out is not None:
                flag = Work.opt_out_train | Work.opt_out_generate
                query = query.where(flag if opted_out else ~flag)
            if limit is not None:
                query = query.limit(limit)
            works = list(session.scalars(query))
            for work in works:
                work.holder
            return works

    def frame_counts(self, work_ids: Sequence[int]) -> dict[int, int]:
        with self.session() as session:
            rows = session.execute(
                select(ReferenceFrame.work_id, func.count())
                .where(ReferenceFrame.work_id.in_(list(work_ids)), ReferenceFrame.variant == "full")
                .group_by(ReferenceFrame.work_id)
            )
            return {work_id: count for work_id, count in rows}

    def update_opt_out(self, work_id: int, train: bool | None = None, generate: bool | None = None) -> Work:
        with self.session() as session:
            work = session.get(Work, work_id)
            if work is None:
                raise NotFoundError(f"no work with id {work_id}")
            if train is not None:
                work.opt_out_train = train
            if generate is not None:
                work.opt_out_generate = generate
            work.holder
            return work

    def remove_work(self, work_id: int) -> None:
        with self.session() as session:
            work = session.get(Work, work_id)
            if work is None:
                raise NotFoundError(f"no work with id {work_id}")
            frame_ids = select(ReferenceFrame.id).where(ReferenceFrame.work_id == work_id)
            session.execute(delete(FrameImage).where(FrameImage.frame_id.in_(frame_ids)))
            session.execute(delete(ReferenceFrame).where(ReferenceFrame.work_id == work_id))
            session.delete(work)
            self._log_change(session, work_id, "remove")

    def _log_change(self, session: Session, work_id: int, action: str) -> None:
        """Append to the change log so that changes become visible in id order.

        Readers replay the changes after the last id they applied. A PostgreSQL sequence
        hands out ids at insert, not at commit: without care, change n+1 can commit (and
        be applied) before change n, and n is then skipped forever. Holding an advisory
        lock from this insert until commit makes commit order follow id order. It is the
        transaction's last step, so only the commit itself is serialised. SQLite needs no
        lock: it serialises writers already.
        """
        if self.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_LOG_LOCK})
        session.add(StoreChange(work_id=work_id, action=action))
        session.flush()

    # -- frames, for indexes and reports ---------------------------------------------
    def latest_change(self) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.coalesce(func.max(StoreChange.id), 0))))

    def changes_since(self, change_id: int) -> list[StoreChange]:
        with self.session() as session:
            return list(session.scalars(select(StoreChange).where(StoreChange.id > change_id).order_by(StoreChange.id)))

    def iter_frame_values(
        self, column: str, work_ids: Sequence[int] | None = None, model: str | None = None, batch: int = 50_000
    ) -> Iterator[list[FrameRow]]:
        """Stream (frame id, work id, value) for one fingerprint column, in id order."""
        attribute = getattr(ReferenceFrame, column)
        last_id = 0
        while True:
            with self.session() as session:
                query = (
                    select(ReferenceFrame.id, ReferenceFrame.work_id, attribute)
                    .where(ReferenceFrame.id > last_id, attribute.is_not(None))
                    .order_by(ReferenceFrame.id)
                    .limit(batch)
                )
                if work_ids is not None:
                    query = query.where(ReferenceFrame.work_id.in_(list(work_ids)))
                if model is not None:
                    query = query.where(ReferenceFrame.clip_model == model)
                rows = [FrameRow(frame_id, work_id, value) for frame_id, work_id, value in session.execute(query)]
            if not rows:
                return
            yield rows
            last_id = rows[-1].frame_id

    def frames_by_id(self, frame_ids: Sequence[int]) -> dict[int, ReferenceFrame]:
        with self.session() as session:
            rows = session.scalars(select(ReferenceFrame).where(ReferenceFrame.id.in_(list(frame_ids))))
            return {row.id: row for row in rows}

    def frames_of_work(self, work_id: int) -> list[ReferenceFrame]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(ReferenceFrame).where(ReferenceFrame.work_id == work_id).order_by(ReferenceFrame.position, ReferenceFrame.id)
                )
            )

    def frame_images(self, frame_ids: Sequence[int]) -> dict[int, FrameImage]:
        with self.session() as session:
            rows = session.scalars(select(FrameImage).where(FrameImage.frame_id.in_(list(frame_ids))))
            return {row.frame_id: row for row in rows}

    def stats(self) -> dict[str, int]:
        with self.session() as session:
            return {
                "holders": int(session.scalar(select(func.count()).select_from(RightsHolder))),
                "works": int(session.scalar(select(func.count()).select_from(Work))),
                # sampled frames only, not their derived views (mirror, trim, crops)
                "frames": int(session.scalar(select(func.count()).where(ReferenceFrame.variant == "full"))),
            }


def unit_rows(vectors: Sequence[np.ndarray]) -> np.ndarray:
    matrix = np.asarray(np.stack(vectors), dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)

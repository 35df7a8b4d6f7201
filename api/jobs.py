"""The scan job queue: durable rows in the store, claimed by workers under a lease.

- Claiming: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets any number of worker
  processes take different jobs without waiting on each other; on SQLite (one worker
  process, guarded by a file lock) a process lock serialises claims. Either way the
  claim itself is a conditional ``UPDATE ... WHERE status = 'queued' OR lease expired``
  whose row count says whether this worker won.
- Leases: a running job carries ``worker_id`` and ``lease_expires_at``; the worker's
  heartbeat keeps extending it. When a worker dies its lease runs out and the job is
  claimed again (``attempts`` counts claims; a job that used up ``max_attempts`` fails).
- Fencing: completing or failing a job is an ``UPDATE ... WHERE worker_id = me AND
  status = 'running'``, so a worker that lost its lease can never overwrite the result
  of the one that took over: a scan is finished exactly once.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import String, and_, cast, func, literal, or_, select, update

from reference_db.models import ScanJob
from reference_db.store import Store

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "done", "failed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_job_id() -> str:
    return "scan_" + uuid.uuid4().hex


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    blob_sha256: str
    source_name: str
    top: int
    attempts: int
    max_attempts: int
    created_at: datetime


class JobQueue:
    def __init__(self, store: Store, lease_s: float = 30.0, max_attempts: int = 3) -> None:
        self.store = store
        self.lease = timedelta(seconds=lease_s)
        self.max_attempts = max_attempts
        self._claim_lock = threading.Lock()  # SQLite: one claim at a time in this process
        self._skip_locked = store.dialect == "postgresql"

    # -- producers -------------------------------------------------------------------
    def enqueue(
        self,
        *,
        owner_key_id: int | None,
        blob_sha256: str,
        media_format: str,
        size_bytes: int,
        source_name: str,
        top: int = 5,
    ) -> ScanJob:
        now = utcnow()
        job = ScanJob(
            id=new_job_id(),
            owner_key_id=owner_key_id,
            status="queued",
            blob_sha256=blob_sha256,
            media_format=media_format,
            size_bytes=size_bytes,
            source_name=source_name[:255],
            top=top,
            attempts=0,
            max_attempts=self.max_attempts,
            available_at=now,
            created_at=now,
        )
        with self.store.session() as session:
            session.add(job)
        return job

    # -- workers ---------------------------------------------------------------------
    def _claimable(self, now: datetime):
        return or_(
            and_(ScanJob.status == "queued", ScanJob.available_at <= now),
            and_(ScanJob.status == "running", ScanJob.lease_expires_at < now),
        )

    def claim(self, worker_id: str) -> ClaimedJob | None:
        """Take the oldest claimable job, or None when there is none."""
        if self._skip_locked:
            return self._claim(worker_id)
        with self._claim_lock:
            return self._claim(worker_id)

    def _claim(self, worker_id: str) -> ClaimedJob | None:
        now = utcnow()
        claimable = self._claimable(now)
        with self.store.session() as session:
            # jobs whose workers died on every attempt fail instead of killing more workers
            gave_up = session.execute(
                update(ScanJob)
                .where(claimable, ScanJob.attempts >= ScanJob.max_attempts)
                .values(
                    status="failed",
                    worker_id=None,
                    lease_expires_at=None,
                    finished_at=now,
                    error_code="gave_up",
                    error_message=literal("gave up after ") + cast(ScanJob.attempts, String)
                    + literal(" attempt(s): the scan never finished (its worker stopped or it kept failing)"),
                )
                .returning(ScanJob.id)
                .execution_options(synchronize_session=False)
            ).scalars().all()
            for job_id in gave_up:
                log.warning("scan %s failed: it used up its attempts", job_id)
        with self.store.session() as session:
            candidates = (
                select(ScanJob.id)
                .where(claimable, ScanJob.attempts < ScanJob.max_attempts)
                .order_by(ScanJob.available_at, ScanJob.created_at, ScanJob.id)
                .limit(1)
            )
            if self._skip_locked:
                # PostgreSQL: lock the row we take; rows other workers hold are skipped, not waited for
                job_id = session.scalar(candidates.with_for_update(skip_locked=True))
                if job_id is None:
                    return None
                target = ScanJob.id == job_id
            else:
                # SQLite: one statement that writes from the start, so it takes the write lock at once
                target = ScanJob.id == candidates.scalar_subquery()
            claimed = session.execute(
                update(ScanJob)
                .where(target, claimable, ScanJob.attempts < ScanJob.max_attempts)
                .values(
                    status="running",
                    worker_id=worker_id,
                    lease_expires_at=now + self.lease,
                    attempts=ScanJob.attempts + 1,
                    started_at=func.coalesce(ScanJob.started_at, now),
                )
                .returning(ScanJob.id)
                .execution_options(synchronize_session=False)
            ).scalar()
            if claimed is None:
                return None
            job = session.get(ScanJob, claimed)
            if job.attempts > 1:
                log.warning("scan %s claimed again (attempt %d of %d)", job.id, job.attempts, job.max_attempts)
            return ClaimedJob(
                job.id, job.blob_sha256, job.source_name, job.top, job.attempts, job.max_attempts, job.created_at
            )

    def heartbeat(self, worker_id: str, job_ids: list[str]) -> int:
        """Extend the leases of the jobs this worker is running; returns how many it still holds."""
        if not job_ids:
            return 0
        with self.store.session() as session:
            return session.execute(
                update(ScanJob)
                .where(ScanJob.id.in_(job_ids), ScanJob.worker_id == worker_id, ScanJob.status == "running")
                .values(lease_expires_at=utcnow() + self.lease)
            ).rowcount

    def _finish(self, job_id: str, worker_id: str, **values: Any) -> bool:
        with self.store.session() as session:
            changed = session.execute(
                update(ScanJob)
                .where(ScanJob.id == job_id, ScanJob.worker_id == worker_id, ScanJob.status == "running")
                .values(worker_id=None, lease_expires_at=None, **values)
            ).rowcount
        if changed != 1:
            log.warning("scan %s: lease lost before it finished here; another worker owns it now", job_id)
        return changed == 1

    def complete(self, job_id: str, worker_id: str, report: dict, verdict: str, evidence: dict[str, str]) -> bool:
        return self._finish(
            job_id, worker_id, status="done", report=report, verdict=verdict, evidence=evidence,
            finished_at=utcnow(), error_code=None, error_message=None,
        )

    def fail(self, job_id: str, worker_id: str, code: str, message: str) -> bool:
        return self._finish(
            job_id, worker_id, status="failed", error_code=code[:64], error_message=message[:2000], finished_at=utcnow()
        )

    def retry_later(self, job_id: str, worker_id: str, delay_s: float, code: str, message: str) -> bool:
        """Put a job back in the queue after an unexpected error (it fails for good at max_attempts)."""
        return self._finish(
            job_id, worker_id, status="queued", available_at=utcnow() + timedelta(seconds=delay_s),
            error_code=code[:64], error_message=message[:2000],
        )

    def release(self, worker_id: str) -> int:
        """Hand this worker's running jobs back to the queue (graceful shutdown)."""
        with self.store.session() as session:
            return session.execute(
                update(ScanJob)
                .where(ScanJob.worker_id == worker_id, ScanJob.status == "running")
                .values(status="queued", worker_id=None, lease_expires_at=None, available_at=utcnow())
            ).rowcount

    def recover_orphans(self) -> int:
        """Requeue every running job. Only for the single worker process of a SQLite store,
        which holds the worker lock and so knows that no other worker can be running them."""
        with self.store.session() as session:
            count = session.execute(
                update(ScanJob)
                .where(ScanJob.status == "running")
                .values(status="queued", worker_id=None, lease_expires_at=None, available_at=utcnow())
            ).rowcount
        if count:
            log.warning("requeued %d scan(s) left running by a previous process", count)
        return count

    def counts(self) -> dict[str, int]:
        with self.store.session() as session:
            rows = session.execute(select(ScanJob.status, func.count()).group_by(ScanJob.status)).all()
        found = {status: int(n) for status, n in rows}
        return {status: found.get(status, 0) for status in STATUSES}

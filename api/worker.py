"""Scan workers: threads that claim queued scans, run them and store the reports.

Several threads scan at once in one process; their CLIP frames meet in the process's
``BatchingEmbedder``. A heartbeat thread keeps the leases of the running jobs fresh.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from api.blobs import public_message
from provenance.errors import MediaError, ProvenanceError

if TYPE_CHECKING:
    from api.service import Service

log = logging.getLogger(__name__)


def make_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ScanWorker:
    def __init__(self, service: "Service", threads: int | None = None, worker_id: str | None = None) -> None:
        self.service = service
        self.threads = max(1, threads or service.config.worker_threads)
        self.worker_id = worker_id or make_worker_id()
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.busy = 0

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"scan-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        beat = threading.Thread(target=self._heartbeat, name="scan-heartbeat", daemon=True)
        beat.start()
        self._threads.append(beat)
        log.info("scan worker %s started with %d thread(s)", self.worker_id, self.threads)

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the scans in progress (up to ``timeout``), then hand any left back to the queue."""
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        released = self.service.queue.release(self.worker_id)
        if released:
            log.warning("handed %d unfinished scan(s) back to the queue", released)

    # -- loops -----------------------------------------------------------------------
    def _loop(self) -> None:
        queue = self.service.queue
        while not self._stop.is_set():
            try:
                job = queue.claim(self.worker_id)
            except Exception:
                log.exception("claiming a scan failed; retrying")
                job = None
                self._stop.wait(1.0)
            if job is None:
                with self._wake:
                    if not self._stop.is_set():
                        self._wake.wait(self.service.config.job_poll_s)
                continue
            with self._held_lock:
                self._held.add(job.id)
                self.busy += 1
            try:
                self._run(job)
            finally:
                with self._held_lock:
                    self._held.discard(job.id)
                    self.busy -= 1

    def _heartbeat(self) -> None:
        interval = max(0.2, self.service.config.job_lease_s / 3)
        while not self._stop.wait(interval):
            with self._held_lock:
                held = sorted(self._held)
            if held:
                try:
                    self.service.queue.heartbeat(self.worker_id, held)
                except Exception:
                    log.exception("heartbeat failed")

    # -- one scan --------------------------------------------------------------------
    def _run(self, job) -> None:
        service, queue, metrics = self.service, self.service.queue, self.service.metrics
        started = time.perf_counter()
        path = service.blobs.path_for(job.blob_sha256)

        def explain(exc: BaseException) -> str:  # messages name the blob file: show the upload's name
            return public_message(str(exc), path, job.source_name)

        try:
            if not path.is_file():
                queue.fail(job.id, self.worker_id, "upload_missing", f"{job.source_name}: the uploaded file is gone from the blob store")
                metrics.scans.labels("failed").inc()
                return
            batcher = service.batcher
            if batcher is not None:  # tell the batcher this scan's frames are coming
                with batcher.expecting():
                    result = service.runtime.scanner.scan_file(path, top=job.top, display_path=job.source_name)
            else:
                result = service.runtime.scanner.scan_file(path, top=job.top, display_path=job.source_name)
            evidence = {str(index): service.blobs.put_bytes(jpeg) for index, jpeg in result.query_thumbnails.items()}
            if queue.complete(job.id, self.worker_id, result.to_dict(), result.verdict, evidence):
                metrics.scans.labels("done").inc()
                metrics.frames_sampled.inc(result.frames_sampled)
                created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=timezone.utc)
                metrics.scan_latency.observe((datetime.now(timezone.utc) - created).total_seconds())
        except MediaError as exc:
            if queue.fail(job.id, self.worker_id, exc.code, explain(exc)):
                metrics.scans.labels("failed").inc()
        except Exception as exc:  # unexpected: try again later, up to the job's attempts
            code = getattr(exc, "code", "internal_error") if isinstance(exc, ProvenanceError) else "internal_error"
            message = f"{type(exc).__name__}: {explain(exc)}"[:2000]
            if job.attempts < job.max_attempts:
                log.exception("scan %s failed on attempt %d; will retry", job.id, job.attempts)
                queue.retry_later(job.id, self.worker_id, min(60.0, 2.0 ** job.attempts), code, message)
            else:
                log.exception("scan %s failed on its last attempt", job.id)
                if queue.fail(job.id, self.worker_id, code, message):
                    metrics.scans.labels("failed").inc()
        finally:
            metrics.scan_seconds.observe(time.perf_counter() - started)

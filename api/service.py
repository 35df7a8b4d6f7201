"""Everything one API or worker process holds: the runtime, blobs, job queue, metrics, workers."""
from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path

from sqlalchemy import text

from api.batching import BatchingEmbedder, install_batching
from api.blobs import BlobStore
from api.config import ServiceConfig
from api.jobs import JobQueue
from api.metrics import ServiceMetrics
from api.worker import ScanWorker
from provenance.errors import ConfigurationError
from provenance.runtime import Runtime
from provenance.settings import Settings

log = logging.getLogger(__name__)


class Service:
    def __init__(self, settings: Settings, config: ServiceConfig, runtime: Runtime) -> None:
        self.settings, self.config, self.runtime = settings, config, runtime
        self.blobs = BlobStore(settings.blobs_dir)
        self.queue = JobQueue(runtime.store, config.job_lease_s, config.job_max_attempts)
        self.metrics = ServiceMetrics()
        self.metrics.queue = self.queue
        self.batcher: BatchingEmbedder | None = None
        self.worker: ScanWorker | None = None
        self.warmed = threading.Event()
        self.warm_error: str | None = None
        self._lock_file = None

    @classmethod
    def open(cls, settings: Settings, config: ServiceConfig | None = None) -> "Service":
        config = config or ServiceConfig.from_env()
        runtime = Runtime.open(settings)
        service = cls(settings, config, runtime)
        # before anything loads CLIP: every scan in this process embeds through one batcher
        service.batcher = install_batching(runtime.fingerprinter, config.batch_max_size, config.batch_max_wait_ms / 1000.0)
        service.metrics.batcher = service.batcher
        service.blobs.cleanup_tmp()
        return service

    @property
    def store(self):
        return self.runtime.store

    # -- start-up ----------------------------------------------------------------------
    def warm(self) -> None:
        """Load the models and indexes (readiness waits for this)."""
        try:
            self.runtime.fingerprinter.statuses()
            self.runtime.warm()
        except Exception as exc:
            self.warm_error = f"{type(exc).__name__}: {exc}"
            log.exception("warming up failed")
        finally:
            self.warmed.set()

    def warm_in_background(self) -> None:
        threading.Thread(target=self.warm, name="warm-up", daemon=True).start()

    def start_worker(self, threads: int | None = None) -> ScanWorker:
        if self.worker is not None:
            return self.worker
        if self.settings.is_sqlite:
            self._lock_sqlite_worker()
            self.queue.recover_orphans()  # we are the only worker: whatever was running died with its process
        self.worker = ScanWorker(self, threads)
        self.worker.start()
        return self.worker

    def _lock_sqlite_worker(self) -> None:
        path = Path(self.settings.home) / "worker.lock"
        handle = path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ConfigurationError(
                f"another process already runs the scan worker of the SQLite store in {self.settings.home}; "
                "SQLite allows one worker process (use PostgreSQL for more)"
            ) from None
        self._lock_file = handle

    # -- health --------------------------------------------------------------------
    def readiness(self) -> tuple[bool, dict[str, object]]:
        checks: dict[str, object] = {}
        try:
            with self.store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["store"] = "ok"
        except Exception as exc:
            checks["store"] = f"unreachable: {type(exc).__name__}"
        if not self.warmed.is_set():
            checks["indexes"] = "loading"
        elif self.warm_error:
            checks["indexes"] = f"failed: {self.warm_error}"
        else:
            try:
                status = self.runtime.searcher.status()
                checks["indexes"] = "loaded" if status.get("loaded") or status.get("backend") == "pgvector" else "not loaded"
            except Exception as exc:
                checks["indexes"] = f"unavailable: {type(exc).__name__}"
        if self.worker is not None:
            checks["worker"] = "running" if self.worker.running else "stopped"
        ready = checks["store"] == "ok" and checks["indexes"] == "loaded" and checks.get("worker", "running") == "running"
        return ready, checks

    # -- shutdown --------------------------------------------------------------------
    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        self.runtime.close()

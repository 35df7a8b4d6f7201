"""The scan job queue on SQLite and PostgreSQL: claims, leases, fencing, retries, concurrency."""
from __future__ import annotations

import threading
import time
from collections import Counter

from api.jobs import JobQueue
from reference_db.models import ScanJob
from reference_db.store import Store


def _enqueue(queue: JobQueue, n: int = 1) -> list[str]:
    return [
        queue.enqueue(owner_key_id=None, blob_sha256=f"{i:064x}", media_format="jpeg", size_bytes=1, source_name=f"q{i}.jpg").id
        for i in range(n)
    ]


def _job(store: Store, job_id: str) -> ScanJob:
    with store.session() as session:
        return session.get(ScanJob, job_id)


def test_claim_complete_and_fencing(store: Store) -> None:
    queue = JobQueue(store, lease_s=30)
    assert queue.claim("w1") is None
    (job_id,) = _enqueue(queue)
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.id == job_id and claimed.attempts == 1
    assert queue.claim("w2") is None  # leased: nobody else gets it
    assert not queue.complete(job_id, "w2", {"verdict": "no_match"}, "no_match", {})  # not w2's job
    assert queue.complete(job_id, "w1", {"verdict": "no_match"}, "no_match", {})
    assert not queue.complete(job_id, "w1", {"verdict": "match"}, "match", {})  # finished exactly once
    job = _job(store, job_id)
    assert (job.status, job.verdict, job.report, job.worker_id) == ("done", "no_match", {"verdict": "no_match"}, None)
    assert queue.counts() == {"queued": 0, "running": 0, "done": 1, "failed": 0}


def test_dead_workers_job_is_reclaimed_and_the_old_worker_is_fenced_off(store: Store) -> None:
    queue = JobQueue(store, lease_s=1.0, max_attempts=3)
    (job_id,) = _enqueue(queue)
    assert queue.claim("dead").id == job_id
    assert queue.claim("alive") is None
    time.sleep(1.1)  # no heartbeat: the lease runs out
    reclaimed = queue.claim("alive")
    assert reclaimed is not None and reclaimed.id == job_id and reclaimed.attempts == 2
    assert not queue.fail(job_id, "dead", "x", "late result from the dead worker")
    assert queue.heartbeat("dead", [job_id]) == 0
    assert queue.heartbeat("alive", [job_id]) == 1
    assert queue.complete(job_id, "alive", {}, "no_match", {})
    assert _job(store, job_id).status == "done"


def test_a_job_that_keeps_killing_workers_fails_after_max_attempts(store: Store) -> None:
    queue = JobQueue(store, lease_s=0.5, max_attempts=2)
    (job_id,) = _enqueue(queue)
    for worker in ("w1", "w2"):
        assert queue.claim(worker).id == job_id
        time.sleep(0.6)
    assert queue.claim("w3") is None
    job = _job(store, job_id)
    assert job.status == "failed" and job.error_code == "gave_up" and "2 attempt" in job.error_message


def test_retry_later_waits_and_recover_orphans_requeues(store: Store) -> None:
    queue = JobQueue(store, lease_s=30)
    first, second = _enqueue(queue, 2)
    assert queue.claim("w").id == first
    assert queue.retry_later(first, "w", 1.0, "internal_error", "boom")
    assert queue.claim("w").id == second  # the first waits out its back-off
    assert queue.claim("w") is None
    time.sleep(1.1)
    assert queue.claim("w").id == first
    assert queue.recover_orphans() == 2  # both running: requeued for the single SQLite worker after a restart
    assert queue.counts()["queued"] == 2
    claimed = {queue.claim("w2").id, queue.claim("w2").id}
    assert claimed == {first, second}
    assert queue.release("w2") == 2 and queue.counts()["queued"] == 2


def test_concurrent_workers_claim_each_job_exactly_once(store: Store) -> None:
    jobs = _enqueue(JobQueue(store), 30)
    claims: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        queue = JobQueue(store, lease_s=30)  # one queue per worker, as in separate processes
        while (job := queue.claim(name)) is not None:
            with lock:
                claims.append(job.id)
            assert queue.complete(job.id, name, {}, "no_match", {})

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(claims) == Counter(jobs)
    assert JobQueue(store).counts()["done"] == 30

"""Prometheus metrics of one API or worker process (``GET /metrics``).

Each service has its own registry, so several apps in one process (tests) never clash.
Queue depth is read from the store at scrape time; batching figures from the process's
``BatchingEmbedder``.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

if TYPE_CHECKING:
    from api.batching import BatchingEmbedder
    from api.jobs import JobQueue

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _LiveCollector:
    """Figures computed when scraped: job counts per status and the embedding batcher."""

    def __init__(self, metrics: "ServiceMetrics") -> None:
        self.metrics = metrics

    def collect(self):
        queue = self.metrics.queue
        if queue is not None:
            jobs = GaugeMetricFamily("provenance_scan_jobs", "Scan jobs in the store by status (queue depth: queued).", labels=["status"])
            try:
                for status, count in queue.counts().items():
                    jobs.add_metric([status], count)
            except Exception:  # a scrape must not fail because the store is briefly unreachable
                log.warning("could not count scan jobs for /metrics", exc_info=True)
            yield jobs
        batcher = self.metrics.batcher
        if batcher is not None:
            stats = batcher.stats
            yield CounterMetricFamily("provenance_frames_embedded", "Frames embedded by CLIP in this process.", value=stats.frames)
            yield CounterMetricFamily("provenance_embed_batches", "CLIP forward passes in this process.", value=stats.batches)
            yield CounterMetricFamily("provenance_embed_seconds", "Time spent in CLIP forward passes.", value=stats.seconds)
            yield GaugeMetricFamily("provenance_embed_queue_frames", "Frames waiting for a CLIP batch.", value=stats.pending_frames)
            buckets, total = stats.histogram()
            histogram = HistogramMetricFamily("provenance_embed_batch_size", "Frames per CLIP batch, across concurrent scans.")
            histogram.add_metric([], buckets, total)
            yield histogram


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue: JobQueue | None = None
        self.batcher: BatchingEmbedder | None = None
        self.requests = Counter(
            "provenance_http_requests", "HTTP requests by route and status.", ["method", "route", "status"], registry=self.registry
        )
        self.request_seconds = Histogram(
            "provenance_http_request_duration_seconds", "HTTP request latency.", ["method", "route"],
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.scans = Counter("provenance_scans", "Scans finished by this process, by outcome.", ["status"], registry=self.registry)
        self.scan_seconds = Histogram(
            "provenance_scan_duration_seconds", "Time a worker spent on one scan.", buckets=_LATENCY_BUCKETS, registry=self.registry
        )
        self.scan_latency = Histogram(
            "provenance_scan_latency_seconds", "From submission to result (queue wait included).",
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.frames_sampled = Counter("provenance_frames_sampled", "Frames sampled from scanned media.", registry=self.registry)
        self.registry.register(_LiveCollector(self))

    def render(self) -> bytes:
        return generate_latest(self.registry)

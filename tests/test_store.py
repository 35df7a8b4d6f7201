"""The reference store and its searchers, on SQLite and on PostgreSQL + pgvector.

Every test taking ``store`` or ``database_url`` runs on both backends (see conftest).
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import text

from provenance.errors import NotFoundError
from reference_db.indexes.base import IndexSpec, Neighbor
from reference_db.indexes.factory import open_searcher
from reference_db.indexes.inprocess import InProcessSearcher
from reference_db.models import FrameImage, ReferenceFrame
from reference_db.store import FrameRecord, NewWork, Store

MODEL = "ViT-B-32/openai"
OTHER_MODEL = "ViT-L-14/laion2b"
CLIP_DIM = 32  # small vectors keep the tests fast; nothing depends on 512

PDQ = IndexSpec("pdq", "hamming", 256, "pdq")
PHASH = IndexSpec("phash", "hamming", 64, "phash")
CLIP = IndexSpec("clip", "cosine", CLIP_DIM, "clip", model=MODEL)
SPECS = (PDQ, PHASH, CLIP)


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    """A migrated, empty store on PostgreSQL only, for pgvector-specific tests."""
    opened = Store.open(postgres_url)
    yield opened
    opened.close()


# -- builders -----------------------------------------------------------------------
def new_work(title: str, holder: str = "Studio A", content: bytes | None = None, **overrides) -> NewWork:
    content = content if content is not None else title.encode()
    fields = dict(
        holder=holder,
        title=title,
        kind="video",
        sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        media_format="mp4",
        duration=2.0,
        width=640,
        height=360,
        source_name=f"{title}.mp4",
    )
    fields.update(overrides)
    return NewWork(**fields)


def frame_records(seed: int, count: int = 4, model: str = MODEL, with_images: bool = True) -> list[FrameRecord]:
    """Random but reproducible fingerprints for every column, plus a fake JPEG each."""
    rng = np.random.default_rng(seed)
    return [
        FrameRecord(
            position=i,
            timestamp=i * 0.5,
            columns={
                "pdq": rng.bytes(32),
                "pdq_quality": int(rng.integers(50, 100)),
                "phash": rng.bytes(8),
                "clip": rng.standard_normal(CLIP_DIM).astype(np.float32),
                "clip_model": model,
            },
            jpeg=b"\xff\xd8" + rng.bytes(64) + b"\xff\xd9" if with_images else None,
            jpeg_size=(64, 36) if with_images else None,
        )
        for i in range(count)
    ]


def add(store: Store, title: str, seed: int, count: int = 4, **overrides) -> int:
    work, created = store.add_work(new_work(title, **overrides), frame_records(seed, count))
    assert created
    return work.id


def stored_values(store: Store, spec: IndexSpec) -> list:
    return [row for rows in store.iter_frame_values(spec.column, model=spec.model) for row in rows]


def nearest_work(searcher, spec: IndexSpec, value) -> Neighbor | None:
    neighbors = searcher.search(spec, [value], 1)[0]
    return neighbors[0] if neighbors else None


def clip_vector(frames: list[FrameRecord], position: int) -> np.ndarray:
    return frames[position].columns["clip"]


# -- rights holders -------------------------------------------------------------------
def test_dialect_matches_backend(store: Store, database_url: str) -> None:
    assert store.dialect == ("sqlite" if database_url.startswith("sqlite") else "postgresql")


def test_holders_are_created_once_and_names_trimmed(store: Store) -> None:
    with store.session() as session:
        first = store.get_or_create_holder(session, "  Studio A ")
        again = store.get_or_create_holder(session, "Studio A")
        other = store.get_or_create_holder(session, "Studio B")
    assert first.id == again.id != other.id
    assert [h.name for h in store.list_holders()] == ["Studio A", "Studio B"]


def test_holder_needs_a_name(store: Store) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        with store.session() as session:
            store.get_or_create_holder(session, "   ")


# -- adding works ---------------------------------------------------------------------
def test_add_work_stores_every_column_and_image(store: Store) -> None:
    records = frame_records(seed=1, count=3)
    work, created = store.add_work(new_work("Film", metadata={"year": 2024}, opt_out_train=True), records)
    assert created and work.holder.name == "Studio A"

    loaded = store.get_work(work.id)
    assert (loaded.title, loaded.kind, loaded.media_format, loaded.width, loaded.height) == ("Film", "video", "mp4", 640, 360)
    assert loaded.extra == {"year": 2024} and loaded.opt_out_train and not loaded.opt_out_generate and loaded.opted_out

    frames = store.frames_of_work(work.id)
    assert [f.position for f in frames] == [0, 1, 2]
    for frame, record in zip(frames, records):
        assert frame.timestamp == record.timestamp and frame.variant == "full"
        assert frame.pdq == record.columns["pdq"] and frame.phash == record.columns["phash"]
        assert frame.pdq_quality == record.columns["pdq_quality"] and frame.clip_model == MODEL
        np.testing.assert_allclose(frame.clip, record.columns["clip"], rtol=1e-3, atol=1e-3)

    images = store.frame_images([f.id for f in frames])
    assert [images[f.id].jpeg for f in frames] == [r.jpeg for r in records]
    assert images[frames[0].id].width == 64 and images[frames[0].id].height == 36
    assert store.frame_counts([work.id]) == {work.id: 3}
    assert store.stats() == {"holders": 1, "works": 1, "frames": 3}
    assert [(c.work_id, c.action) for c in store.changes_since(0)] == [(work.id, "add")]


def test_frames_may_lack_signals_and_images(store: Store) -> None:
    records = [
        FrameRecord(position=0, timestamp=0.0, columns={"pdq": bytes(32), "pdq_quality": 10}),
        FrameRecord(position=1, timestamp=1.0, variant="crop", columns={}),
    ]
    work, _ = store.add_work(new_work("Sparse"), records)
    frames = store.frames_of_work(work.id)
    assert frames[1].pdq is None and frames[1].phash is None and frames[1].clip is None and frames[1].clip_model is None
    assert store.frame_images([f.id for f in frames]) == {}
    assert store.frame_counts([work.id]) == {work.id: 1}  # only "full" frames are counted
    assert [r.frame_id for r in stored_values(store, PDQ)] == [frames[0].id]
    assert stored_values(store, PHASH) == []


def test_hash_of_wrong_length_is_refused(store: Store) -> None:
    bad = [FrameRecord(position=0, timestamp=0.0, columns={"pdq": bytes(16)})]
    with pytest.raises(Exception, match="expected 256 bits"):
        store.add_work(new_work("Bad"), bad)
    assert store.stats()["works"] == 0  # nothing half-written


def test_same_bytes_same_holder_is_the_same_work(store: Store) -> None:
    first, created = store.add_work(new_work("Film", content=b"same"), frame_records(seed=1))
    again, created_again = store.add_work(new_work("Film (re-upload)", content=b"same"), frame_records(seed=2))
    assert created and not created_again
    assert again.id == first.id and again.title == "Film"
    assert store.stats()["frames"] == 4  # the second set of frames was not stored
    assert [c.action for c in store.changes_since(0)] == ["add"]


def test_same_bytes_other_holder_is_a_new_work(store: Store) -> None:
    first, _ = store.add_work(new_work("Film", content=b"same"), frame_records(seed=1))
    other, created = store.add_work(new_work("Film", holder="Studio B", content=b"same"), frame_records(seed=1))
    assert created and other.id != first.id and other.holder.name == "Studio B"
    assert store.stats() == {"holders": 2, "works": 2, "frames": 8}


# -- listing and updating ---------------------------------------------------------------
def test_list_filter_and_paginate(store: Store) -> None:
    ids = [add(store, f"A{i}", seed=i, count=1) for i in range(5)]
    b_id = add(store, "B0", seed=10, count=1, holder="Studio B", opt_out_generate=True)

    assert [w.id for w in store.list_works()] == ids + [b_id]
    assert [w.id for w in store.list_works(holder="Studio A")] == ids
    assert [w.id for w in store.list_works(holder="Studio A", offset=1, limit=2)] == ids[1:3]
    assert [w.id for w in store.list_works(offset=4, limit=10)] == [ids[4], b_id]
    assert [w.id for w in store.list_works(opted_out=True)] == [b_id]
    assert [w.id for w in store.list_works(opted_out=False, limit=3)] == ids[:3]
    assert store.list_works(holder="Nobody") == []
    assert all(w.holder.name in {"Studio A", "Studio B"} for w in store.list_works())  # holder loaded


def test_update_opt_out(store: Store) -> None:
    work_id = add(store, "Film", seed=1)
    updated = store.update_opt_out(work_id, train=True)
    assert updated.opt_out_train and not updated.opt_out_generate
    store.update_opt_out(work_id, generate=True)
    store.update_opt_out(work_id, train=False)
    loaded = store.get_work(work_id)
    assert (loaded.opt_out_train, loaded.opt_out_generate) == (False, True)
    assert [w.id for w in store.list_works(opted_out=True)] == [work_id]
    with pytest.raises(NotFoundError):
        store.update_opt_out(9999, train=True)


# -- removing -----------------------------------------------------------------------------
def test_remove_work_deletes_frames_images_and_logs_it(store: Store) -> None:
    gone = add(store, "Gone", seed=1)
    kept = add(store, "Kept", seed=2)
    gone_frames = [f.id for f in store.frames_of_work(gone)]

    store.remove_work(gone)

    with pytest.raises(NotFoundError):
        store.get_work(gone)
    assert store.frames_of_work(gone) == [] and store.frames_by_id(gone_frames) == {}
    assert store.frame_images(gone_frames) == {}
    with store.session() as session:  # nothing orphaned anywhere
        assert session.query(ReferenceFrame).filter(ReferenceFrame.id.in_(gone_frames)).count() == 0
        assert session.query(FrameImage).filter(FrameImage.frame_id.in_(gone_frames)).count() == 0
    assert len(store.frames_of_work(kept)) == 4
    assert store.stats() == {"holders": 1, "works": 1, "frames": 4}
    assert [(c.work_id, c.action) for c in store.changes_since(0)] == [(gone, "add"), (kept, "add"), (gone, "remove")]
    assert store.latest_change() == store.changes_since(0)[-1].id
    with pytest.raises(NotFoundError):
        store.remove_work(gone)



def test_ids_of_removed_works_are_never_reused(store: Store, request: pytest.FixtureRequest) -> None:
    first, _ = store.add_work(new_work("Film", content=b"same"), frame_records(seed=1))
    first_frames = {f.id for f in store.frames_of_work(first.id)}
    store.remove_work(first.id)
    again, created = store.add_work(new_work("Film", content=b"same"), frame_records(seed=1))
    assert created  # the same bytes may be registered again once removed
    # the change log, reports and in-process indexes identify works and frames by id
    assert again.id != first.id
    assert not first_frames & {f.id for f in store.frames_of_work(again.id)}


# -- schema ---------------------------------------------------------------------------------
def test_migrations_are_idempotent(database_url: str) -> None:
    first = Store.open(database_url)
    try:
        work_id = add(first, "Film", seed=1)
    finally:
        first.close()
    second = Store.open(database_url)  # migrating an up-to-date schema is a no-op
    try:
        assert second.get_work(work_id).title == "Film"
        with second.session() as session:
            versions = session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert len(versions) == 1
    finally:
        second.close()


@pytest.mark.postgres
def test_postgres_columns_are_native_pgvector_types(pg_store: Store) -> None:
    with pg_store.session() as session:
        types = dict(
            session.execute(
                text(
                    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = 'reference_frames'::regclass AND attname IN ('pdq', 'phash', 'clip')"
                )
            ).all()
        )
    assert types == {"pdq": "bit(256)", "phash": "bit(64)", "clip": "halfvec"}


# -- exact round trips ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pdq, phash",
    [
        (bytes(32), bytes(8)),  # all zero: no leading bit to anchor an integer conversion
        (b"\xff" * 32, b"\xff" * 8),
        (b"\x00\x01" * 16, b"\x80" + bytes(7)),  # leading zeros, then a single high bit
        (bytes(range(32)), bytes(range(200, 208))),
    ],
    ids=["zeros", "ones", "leading-zeros", "ramp"],
)
def test_hash_bits_round_trip_exactly(store: Store, pdq: bytes, phash: bytes) -> None:
    record = FrameRecord(position=0, timestamp=0.0, columns={"pdq": pdq, "phash": phash})
    work, _ = store.add_work(new_work("Bits"), [record])
    (frame,) = store.frames_of_work(work.id)
    assert frame.pdq == pdq and frame.phash == phash
    assert [r.value for r in stored_values(store, PDQ)] == [pdq]


def test_vectors_round_trip_at_half_precision(store: Store) -> None:
    rng = np.random.default_rng(7)
    vectors = [
        rng.standard_normal(512).astype(np.float32),
        np.array([0.0, -0.0, 1.0, -1.0, 65504.0, 1e-4, 0.333333], dtype=np.float32),  # fp16 edge values
        (rng.standard_normal(CLIP_DIM) / 10).astype(np.float32),
    ]
    records = [
        FrameRecord(position=i, timestamp=0.0, columns={"clip": v, "clip_model": f"m{len(v)}"})
        for i, v in enumerate(vectors)
    ]
    work, _ = store.add_work(new_work("Vectors"), records)
    for frame, vector in zip(store.frames_of_work(work.id), vectors):
        assert frame.clip.dtype == np.float32 and frame.clip.shape == vector.shape
        # half precision keeps ~3 significant digits: exactly what float16 rounding gives
        np.testing.assert_allclose(frame.clip, vector.astype(np.float16).astype(np.float32), rtol=1e-3, atol=1e-7)
        np.testing.assert_allclose(frame.clip, vector, rtol=1e-3, atol=1e-4)


def test_iter_frame_values_filters_by_model_work_and_batches(store: Store) -> None:
    a = add(store, "A", seed=1, count=3)
    b_work, _ = store.add_work(new_work("B"), frame_records(seed=2, count=2, model=OTHER_MODEL))
    c = add(store, "C", seed=3, count=3)

    rows = stored_values(store, CLIP)
    assert {r.work_id for r in rows} == {a, c} and len(rows) == 6
    assert [r.frame_id for r in rows] == sorted(r.frame_id for r in rows)  # id order
    other = [r for rows in store.iter_frame_values("clip", model=OTHER_MODEL) for r in rows]
    assert {r.work_id for r in other} == {b_work.id} and len(other) == 2
    assert len(stored_values(store, PDQ)) == 8  # no model filter: every frame

    only_c = [r for rows in store.iter_frame_values("pdq", work_ids=[c]) for r in rows]
    assert {r.work_id for r in only_c} == {c} and len(only_c) == 3

    batches = list(store.iter_frame_values("phash", batch=3))
    assert [len(b) for b in batches] == [3, 3, 2]
    assert all(isinstance(r.value, bytes) and len(r.value) == 8 for b in batches for r in b)


# -- searchers: the in-process (faiss) one, on both backends ---------------------------------------
@pytest.fixture
def second_store(database_url: str, store: Store) -> Iterator[Store]:
    """Another connection pool on the same database: what a second process sees."""
    other = Store.open(database_url)
    yield other
    other.close()


def test_inprocess_finds_stored_frames(store: Store) -> None:
    records = frame_records(seed=1)
    work_id = add(store, "Film", seed=1)
    frames = store.frames_of_work(work_id)
    searcher = InProcessSearcher(store)

    for spec, value in ((PDQ, records[2].columns["pdq"]), (PHASH, records[2].columns["phash"]), (CLIP, clip_vector(records, 2))):
        hit = nearest_work(searcher, spec, value)
        assert hit is not None and hit.frame_id == frames[2].id and hit.work_id == work_id
        assert hit.distance == pytest.approx(0.0, abs=1e-3)
    assert searcher.search(CLIP, [], 3) == []
    status = searcher.status()
    assert status["fresh"] and status["indexes"]["pdq"]["frames"] == 4


def test_inprocess_ignores_other_models(store: Store) -> None:
    store.add_work(new_work("Other"), frame_records(seed=1, model=OTHER_MODEL))
    searcher = InProcessSearcher(store)
    assert searcher.search(CLIP, [clip_vector(frame_records(seed=1), 0)], 5) == [[]]


def test_inprocess_applies_additions_and_removals_incrementally(store: Store) -> None:
    first = add(store, "First", seed=1)
    searcher = InProcessSearcher(store)
    searcher.warm(SPECS)
    later_pdq = frame_records(seed=2)[0].columns["pdq"]
    assert nearest_work(searcher, PDQ, later_pdq).work_id == first  # only candidate

    later = add(store, "Later", seed=2)
    assert not searcher.status()["fresh"]
    assert nearest_work(searcher, PDQ, later_pdq).work_id == first  # stale until refreshed
    searcher.refresh()
    hit = nearest_work(searcher, PDQ, later_pdq)
    assert (hit.work_id, hit.distance) == (later, 0.0)
    assert nearest_work(searcher, CLIP, clip_vector(frame_records(seed=2), 1)).work_id == later
    assert searcher.status()["fresh"] and searcher.status()["indexes"]["phash"]["frames"] == 8

    store.remove_work(first)
    searcher.refresh()
    assert {n.work_id for n in searcher.search(PDQ, [frame_records(seed=1)[0].columns["pdq"]], 10)[0]} == {later}
    assert searcher.status()["indexes"]["clip"]["frames"] == 4


def test_inprocess_skips_work_added_and_removed_between_refreshes(store: Store) -> None:
    kept = add(store, "Kept", seed=1)
    searcher = InProcessSearcher(store)
    searcher.warm(SPECS)

    fleeting = add(store, "Fleeting", seed=2)
    store.remove_work(fleeting)
    searcher.refresh()

    for spec in SPECS:
        neighbors = searcher.search(spec, [stored_values(store, spec)[0].value], 100)[0]
        assert {n.work_id for n in neighbors} == {kept}
    status = searcher.status()
    assert status["fresh"] and status["store_change"] == store.latest_change()
    assert all(index["frames"] == 4 for index in status["indexes"].values())


def test_inprocess_handles_removal_and_reregistration_in_one_window(store: Store, request: pytest.FixtureRequest) -> None:
    first, _ = store.add_work(new_work("Film", content=b"same"), frame_records(seed=1))
    searcher = InProcessSearcher(store)
    searcher.warm(SPECS)

    store.remove_work(first.id)
    again, _ = store.add_work(new_work("Film", content=b"same"), frame_records(seed=2))  # new frames
    searcher.refresh()

    hit = nearest_work(searcher, PDQ, frame_records(seed=2)[0].columns["pdq"])
    assert (hit.work_id, hit.distance) == (again.id, 0.0)
    assert searcher.status()["indexes"]["pdq"]["frames"] == 4


def test_two_processes_each_catch_up_from_the_change_log(store: Store, second_store: Store) -> None:
    add(store, "Seed", seed=1)
    api, worker = InProcessSearcher(store), InProcessSearcher(second_store)
    api.warm(SPECS)
    worker.warm(SPECS)

    added = add(second_store, "Registered by the worker", seed=2)  # written through the other pool
    query = frame_records(seed=2)[3].columns["phash"]
    api.refresh()
    worker.refresh()
    assert nearest_work(api, PHASH, query).work_id == added
    assert nearest_work(worker, PHASH, query).work_id == added

    store.remove_work(added)  # and removed through the first
    api.refresh()
    worker.refresh()
    for searcher in (api, worker):
        assert all(n.work_id != added for n in searcher.search(PHASH, [query], 10)[0])
        assert searcher.status()["indexes"]["phash"]["frames"] == 4


def test_change_log_becomes_visible_in_id_order(store: Store, second_store: Store) -> None:
    """Indexes apply changes after the last id they saw: change n+1 must never be
    visible while change n is not, or n would be skipped forever (PostgreSQL sequences
    give out ids at insert, not at commit)."""
    finished = threading.Event()
    added: list[int] = []

    def other_writer() -> None:
        added.append(add(second_store, "Concurrent", seed=2))
        finished.set()

    with store.session() as session:
        store._log_change(session, 999, "add")  # a writer holding change n, not yet committed
        thread = threading.Thread(target=other_writer)
        thread.start()
        assert not finished.wait(0.5)  # the next writer waits for our commit...
        assert store.latest_change() == 0  # ...so no later change is visible meanwhile
    thread.join(timeout=30)
    assert finished.is_set()
    assert [(c.work_id, c.action) for c in store.changes_since(0)] == [(999, "add"), (added[0], "add")]


# -- factory ---------------------------------------------------------------------------------------
def test_open_searcher_picks_the_backend(store: Store) -> None:
    expected = "pgvector" if store.dialect == "postgresql" else "faiss"
    assert open_searcher(store).status()["backend"] == expected
    assert isinstance(open_searcher(store, "faiss"), InProcessSearcher)
    with pytest.raises(ValueError, match="unknown search backend"):
        open_searcher(store, "annoy")
    if store.dialect != "postgresql":
        with pytest.raises(ValueError, match="needs PostgreSQL"):
            open_searcher(store, "pgvector")


# -- pgvector ----------------------------------------------------------------------------------------
def _brute_force(store: Store, spec: IndexSpec, query, k: int) -> list[float]:
    """Exact k smallest distances, computed in Python, as the reference."""
    rows = stored_values(store, spec)
    if spec.kind == "hamming":
        q = int.from_bytes(query, "big")
        distances = [float((int.from_bytes(r.value, "big") ^ q).bit_count()) for r in rows]
    else:
        matrix = np.stack([r.value for r in rows])
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        distances = list(1.0 - matrix @ (query / np.linalg.norm(query)))
    return sorted(distances)[:k]


@pytest.mark.postgres
@pytest.mark.parametrize("with_indexes", [False, True], ids=["seqscan", "hnsw"])
def test_pgvector_matches_brute_force(pg_store: Store, with_indexes: bool) -> None:
    from reference_db.indexes.pgvector_search import PgVectorSearcher

    for i in range(6):
        add(pg_store, f"W{i}", seed=i, count=10)
    pg_store.add_work(new_work("Other model"), frame_records(seed=99, count=10, model=OTHER_MODEL))
    searcher = PgVectorSearcher(pg_store)
    if with_indexes:
        searcher.warm(SPECS)

    rng = np.random.default_rng(123)
    queries = {
        PDQ: [rng.bytes(32) for _ in range(5)],
        PHASH: [rng.bytes(8) for _ in range(5)],
        CLIP: [rng.standard_normal(CLIP_DIM).astype(np.float32) for _ in range(5)],
    }
    for spec, values in queries.items():
        results = searcher.search(spec, values, 7)  # one batch, one statement
        assert len(results) == len(values)
        for query, neighbors in zip(values, results):
            distances = [n.distance for n in neighbors]
            assert distances == sorted(distances)
            # halfvec rounding moves cosine distances by ~1e-3 at most
            np.testing.assert_allclose(distances, _brute_force(pg_store, spec, query, 7), atol=2e-3)
    other_ids = {f.id for f in pg_store.frames_of_work(7)}
    assert not any(n.frame_id in other_ids for row in searcher.search(CLIP, queries[CLIP], 70) for n in row)


@pytest.mark.postgres
def test_pgvector_agrees_with_inprocess(pg_store: Store) -> None:
    from reference_db.indexes.pgvector_search import PgVectorSearcher

    for i in range(4):
        add(pg_store, f"W{i}", seed=i, count=8)
    database, in_process = PgVectorSearcher(pg_store), InProcessSearcher(pg_store)
    database.warm(SPECS)
    for spec in SPECS:
        values = [row.value for row in stored_values(pg_store, spec)[::5]]
        for ours, theirs in zip(database.search(spec, values, 3), in_process.search(spec, values, 3)):
            assert ours[0].frame_id == theirs[0].frame_id and ours[0].work_id == theirs[0].work_id
            np.testing.assert_allclose([n.distance for n in ours], [n.distance for n in theirs], atol=2e-3)


@pytest.mark.postgres
def test_pgvector_is_fresh_without_refresh(pg_store: Store) -> None:
    from reference_db.indexes.pgvector_search import PgVectorSearcher

    first = add(pg_store, "First", seed=1)
    searcher = PgVectorSearcher(pg_store)
    searcher.warm(SPECS)
    later_vector = clip_vector(frame_records(seed=2), 0)
    assert nearest_work(searcher, CLIP, later_vector).work_id == first

    later = add(pg_store, "Later", seed=2)
    assert nearest_work(searcher, CLIP, later_vector).work_id == later
    pg_store.remove_work(later)
    assert nearest_work(searcher, CLIP, later_vector).work_id == first
    pg_store.remove_work(first)
    assert searcher.search(PDQ, [bytes(32)], 5) == [[]]
    assert searcher.search(PDQ, [], 5) == []


@pytest.mark.postgres
def test_pgvector_indexes_are_idempotent_and_used(pg_store: Store) -> None:
    from reference_db.indexes.pgvector_search import (
        PgVectorSearcher,
        _search_sql,
        ensure_indexes,
        existing_indexes,
        index_name,
    )

    add(pg_store, "W", seed=1, count=20)
    odd_model = IndexSpec("clip", "cosine", CLIP_DIM, "clip", model="o'brien/ViT-H 14 — ünïcode" + "x" * 80)
    specs = [*SPECS, odd_model]
    names = ensure_indexes(pg_store.engine, specs)
    assert ensure_indexes(pg_store.engine, specs) == names  # second run: nothing new, no error
    assert len(set(names)) == 4 and all(len(n) <= 63 and n.isascii() for n in names)
    with pg_store.engine.connect() as connection:
        assert set(existing_indexes(connection)) == set(names)

    # with sequential scans priced out, each search statement must be able to use its index
    with pg_store.engine.begin() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        for spec, value in ((PDQ, "0" * 256), (PHASH, "1" * 64), (CLIP, "[" + ",".join(["0.5"] * CLIP_DIM) + "]")):
            plan = "\n".join(connection.execute(text("EXPLAIN " + _search_sql(spec)), {"values": [value], "k": 5}).scalars())
            assert f"Index Scan using {index_name(spec)}" in plan, plan

    searcher = PgVectorSearcher(pg_store)
    searcher.search(PDQ, [bytes(32)], 1)
    status = searcher.status()
    assert status["backend"] == "pgvector" and status["fresh"] and status["frames"] == 20
    assert status["indexes"]["pdq"] == {"frames": 20, "index": index_name(PDQ), "index_ready": True}
    assert set(status["hnsw_indexes"]) == set(names)


@pytest.mark.postgres
def test_pgvector_rejects_bad_queries(pg_store: Store) -> None:
    from reference_db.indexes.pgvector_search import PgVectorSearcher

    searcher = PgVectorSearcher(pg_store)
    with pytest.raises(ValueError, match="expected 256 bits"):
        searcher.search(PDQ, [bytes(8)], 1)
    with pytest.raises(ValueError, match=f"expected {CLIP_DIM} floats"):
        searcher.search(CLIP, [np.zeros(3, dtype=np.float32)], 1)
    with pytest.raises(ValueError, match="not a column"):
        searcher.search(IndexSpec("evil", "hamming", 64, "phash; DROP TABLE works"), [bytes(8)], 1)

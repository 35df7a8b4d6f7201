"""Nearest-neighbour search answered by PostgreSQL with pgvector.

Nothing is held in process memory: every search is one SQL statement per batch of
queries (a LATERAL join over the unnested query values), so additions and removals
are visible to the very next query in every process, with no refresh and no rebuild.

- Hashes (``bit(n)`` columns) are compared with the Hamming operator ``<~>`` and
  indexed with HNSW ``bit_hamming_ops``.
- Embeddings live in an untyped ``halfvec`` column (models differ in dimension), so
  searches and indexes use the expression ``clip::halfvec(DIM)``, and a partial index
  per model (``WHERE clip_model = 'MODEL'``) keeps vectors of different models apart.

``ensure_indexes`` builds the HNSW indexes; until it has run, the same queries are
answered exactly by a sequential scan (correct, only slower on big stores).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from reference_db.indexes.base import IndexSpec, Neighbor
from reference_db.models import ReferenceFrame
from reference_db.store import Store
from reference_db.types import bytes_to_bitstring

TABLE = ReferenceFrame.__tablename__
DEFAULT_EF_SEARCH = 100  # HNSW candidates per query; pgvector's default of 40 loses near-copies (docs/benchmarks.md)
MAX_QUERIES_PER_STATEMENT = 256  # bounds one statement's parameters (~1.5 MB of 512-d vectors as text)
_PG_MAX_IDENTIFIER = 63
_LOCK_KEY = "provenance.reference_db.ensure_indexes"


# -- naming and SQL fragments -------------------------------------------------------
def _checked_column(spec: IndexSpec) -> str:
    """The spec's column, validated against the model: it is spliced into SQL."""
    if spec.column not in ReferenceFrame.__table__.c:
        raise ValueError(f"{spec.name}: {spec.column!r} is not a column of {TABLE}")
    return spec.column


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def index_name(spec: IndexSpec) -> str:
    """A stable, valid PostgreSQL identifier for the index of one signal (and model).

    Model names are free text ("ViT-B-32/openai"), so they are slugged, and a short hash
    of the exact name keeps two models whose slugs collide apart.
    """
    column = _checked_column(spec)
    if spec.kind == "hamming":
        return f"ix_{TABLE}_{column}_hnsw"
    model = spec.model or ""
    digest = hashlib.sha1(f"{model}|{spec.dimension}".encode()).hexdigest()[:8]
    prefix = f"ix_{TABLE}_{column}_{spec.dimension}_"
    room = _PG_MAX_IDENTIFIER - len(prefix) - len(digest) - 1
    slug = _slug(model)[:room] or "any"
    return f"{prefix}{slug}_{digest}"


def _sql_literal(value: str) -> str:
    # standard_conforming_strings is on (the default since PostgreSQL 9.1): only quotes need doubling
    return "'" + value.replace("'", "''") + "'"


def _dimension(spec: IndexSpec) -> int:
    dimension = int(spec.dimension)
    if dimension <= 0:
        raise ValueError(f"{spec.name}: dimension must be positive, got {spec.dimension!r}")
    return dimension


def _cosine_expression(spec: IndexSpec) -> str:
    return f"({_checked_column(spec)}::halfvec({_dimension(spec)}))"


def _cosine_predicate(spec: IndexSpec) -> str:
    """Rows comparable with the spec's model.

    The model is written as a literal, never a bind parameter: the planner only uses a
    partial index when it can prove the query's WHERE implies the index's, and it cannot
    do that with a parameter in a generic (prepared) plan.
    """
    if spec.model is None:
        return f"{_checked_column(spec)} IS NOT NULL"
    return f"clip_model = {_sql_literal(spec.model)}"


def _where(spec: IndexSpec) -> str:
    """The frames a search of this spec considers (implies the index predicate)."""
    where = f"f.{_checked_column(spec)} IS NOT NULL"
    if spec.kind == "cosine" and spec.model is not None:
        where += f" AND f.{_cosine_predicate(spec)}"
    return where


def index_ddl(spec: IndexSpec) -> str:
    name = index_name(spec)
    if spec.kind == "hamming":
        return f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} USING hnsw ({_checked_column(spec)} bit_hamming_ops)"
    if spec.kind == "cosine":
        return (
            f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} USING hnsw "
            f"({_cosine_expression(spec)} halfvec_cosine_ops) WHERE {_cosine_predicate(spec)}"
        )
    raise ValueError(f"{spec.name}: unknown index kind {spec.kind!r}")


def _search_sql(spec: IndexSpec) -> str:
    """One statement answering a batch: for each query value (in order), its k nearest.

    The inner ORDER BY repeats the indexed expression exactly, which is what lets
    PostgreSQL run it as an HNSW index scan once per query row.
    """
    if spec.kind == "hamming":
        column = _checked_column(spec)
        value_type, distance = f"bit({_dimension(spec)})", f"f.{column} <~> q.value"
    elif spec.kind == "cosine":
        value_type = f"halfvec({_dimension(spec)})"
        distance = f"(f.{_checked_column(spec)}::{value_type}) <=> q.value"
    else:
        raise ValueError(f"{spec.name}: unknown index kind {spec.kind!r}")
    return f"""
        SELECT q.ord, n.id, n.work_id, n.distance
        FROM unnest(CAST(:values AS {value_type}[])) WITH ORDINALITY AS q(value, ord)
        CROSS JOIN LATERAL (
            SELECT f.id, f.work_id, {distance} AS distance
            FROM {TABLE} AS f
            WHERE {_where(spec)}
            ORDER BY {distance}
            LIMIT :k
        ) AS n
        ORDER BY q.ord, n.distance, n.id
    """


def _encode(spec: IndexSpec, value: Any) -> str:
    """A query value as PostgreSQL text input ('0101…' for bits, '[x,y,…]' for vectors)."""
    if spec.kind == "hamming":
        bits = bytes(value)
        if len(bits) * 8 != spec.dimension:
            raise ValueError(f"{spec.name}: expected {spec.dimension} bits, got {len(bits) * 8}")
        return bytes_to_bitstring(bits)
    vector = np.asarray(value, dtype=np.float32).ravel()
    if vector.shape[0] != spec.dimension:
        raise ValueError(f"{spec.name}: expected {spec.dimension} floats, got {vector.shape[0]}")
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


# -- index management -------------------------------------------------------------
def ensure_indexes(engine: Engine, specs: Sequence[IndexSpec], maintenance_work_mem: str | None = None) -> list[str]:
    """Create the HNSW index of every spec unless it exists; returns the index names.

    A transaction-level advisory lock serialises concurrent callers (two workers
    starting together), so neither trips over the other's half-built index. Building
    takes a SHARE lock on the table (writes wait) and, on a large store, minutes: run it
    at deploy time. ``maintenance_work_mem`` (e.g. "1GB") lets big builds stay in memory.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError(f"pgvector indexes need PostgreSQL, not {engine.dialect.name}")
    names: list[str] = []
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": _LOCK_KEY})
        if maintenance_work_mem:
            connection.execute(text("SELECT set_config('maintenance_work_mem', :value, true)"), {"value": maintenance_work_mem})
        for spec in specs:
            connection.execute(text(index_ddl(spec)))
            names.append(index_name(spec))
    return names


def existing_indexes(connection: Connection) -> dict[str, str]:
    """Name -> definition of the HNSW indexes on the frames table."""
    rows = connection.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :table AND indexdef ILIKE '%USING hnsw%'"),
        {"table": TABLE},
    )
    return {name: definition for name, definition in rows}


# -- the searcher -------------------------------------------------------------------
class PgVectorSearcher:
    """``FrameSearcher`` answered by PostgreSQL; always fresh, nothing to load."""

    def __init__(self, store: Store, ef_search: int = DEFAULT_EF_SEARCH) -> None:
        if store.dialect != "postgresql":
            raise ValueError(f"PgVectorSearcher needs PostgreSQL, the store is {store.dialect}")
        self.store = store
        self.ef_search = ef_search
        self._specs: dict[str, IndexSpec] = {}  # specs seen, for status()

    def refresh(self) -> None:
        """Nothing to do: the database is the index."""

    def warm(self, specs: Sequence[IndexSpec]) -> None:
        """Make sure the indexes exist (a no-op once they do)."""
        ensure_indexes(self.store.engine, specs)
        self._specs.update((spec.name, spec) for spec in specs)

    def search(self, spec: IndexSpec, queries: Sequence[Any], k: int) -> list[list[Neighbor]]:
        self._specs.setdefault(spec.name, spec)
        results: list[list[Neighbor]] = [[] for _ in queries]
        if not len(queries) or k <= 0:
            return results
        sql = text(_search_sql(spec))
        with self.store.engine.begin() as connection:
            # HNSW returns at most ef_search rows per scan: keep it at least k
            connection.execute(
                text("SELECT set_config('hnsw.ef_search', :value, true)"), {"value": str(max(self.ef_search, k))}
            )
            for start in range(0, len(queries), MAX_QUERIES_PER_STATEMENT):
                chunk = queries[start : start + MAX_QUERIES_PER_STATEMENT]
                rows = connection.execute(sql, {"values": [_encode(spec, q) for q in chunk], "k": k})
                for ordinal, frame_id, work_id, distance in rows:
                    results[start + ordinal - 1].append(Neighbor(int(frame_id), int(work_id), float(distance)))
        return results

    def status(self) -> dict[str, Any]:
        with self.store.engine.connect() as connection:
            hnsw = existing_indexes(connection)
            frames = int(connection.scalar(text(f"SELECT count(*) FROM {TABLE}")))
            per_spec = {
                name: {
                    "frames": int(connection.scalar(text(f"SELECT count(*) FROM {TABLE} AS f WHERE {_where(spec)}"))),
                    "index": index_name(spec),
                    "index_ready": index_name(spec) in hnsw,
                }
                for name, spec in self._specs.items()
            }
        return {
            "backend": "pgvector",
            "loaded": True,
            "fresh": True,
            "store_change": self.store.latest_change(),
            "frames": frames,
            "ef_search": self.ef_search,
            "hnsw_indexes": sorted(hnsw),
            "indexes": per_spec,
        }

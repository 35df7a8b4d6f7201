"""Pick the nearest-neighbour searcher that suits a store's database."""
from __future__ import annotations

from reference_db.indexes.base import FrameSearcher
from reference_db.indexes.inprocess import InProcessSearcher
from reference_db.store import Store

BACKENDS = ("auto", "faiss", "pgvector")


def open_searcher(store: Store, backend: str = "auto") -> FrameSearcher:
    """``auto``: pgvector on PostgreSQL (the database answers, nothing to load), faiss
    in process otherwise. ``faiss`` forces the in-process indexes on any database;
    ``pgvector`` insists on PostgreSQL."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown search backend {backend!r}; known: {', '.join(BACKENDS)}")
    if backend == "faiss" or (backend == "auto" and store.dialect != "postgresql"):
        return InProcessSearcher(store)
    # imported here: the pgvector module is only needed when PostgreSQL is in use
    from reference_db.indexes.pgvector_search import PgVectorSearcher

    return PgVectorSearcher(store)  # raises a clear error for "pgvector" on another database

"""Nearest-neighbour search over stored frame fingerprints.

``FrameSearcher`` is what the matcher talks to. Two implementations:
- ``InProcessSearcher`` (faiss, any backend): loaded from the store once, then kept
  fresh by replaying the store's change log — additions and removals are applied
  incrementally, never by a rebuild.
- ``PgVectorSearcher`` (PostgreSQL): the database answers with pgvector indexes.
"""
from reference_db.indexes.base import FrameSearcher, Neighbor
from reference_db.indexes.inprocess import InProcessSearcher

__all__ = ["FrameSearcher", "Neighbor", "InProcessSearcher"]

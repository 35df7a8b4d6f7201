"""Column types that store fingerprints compactly on SQLite and natively on PostgreSQL.

On PostgreSQL hash bits are pgvector ``bit(n)`` (Hamming search with ``<~>``) and CLIP
vectors are ``halfvec`` (cosine search with ``<=>``); on SQLite both are packed bytes.
Python code always sees ``bytes`` for bits (big-endian, as ``numpy.packbits``) and a
float32 ``numpy`` array for vectors.
"""
from __future__ import annotations

import numpy as np
from pgvector.sqlalchemy import BIT, HALFVEC
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator


class HashBits(TypeDecorator):
    """A fixed-length bit string (PDQ: 256, pHash: 64)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, nbits: int) -> None:
        super().__init__()
        self.nbits = nbits

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(BIT(self.nbits))
        return dialect.type_descriptor(LargeBinary(self.nbits // 8))

    def process_bind_param(self, value: bytes | None, dialect):
        if value is None:
            return None
        if len(value) * 8 != self.nbits:
            raise ValueError(f"expected {self.nbits} bits, got {len(value) * 8}")
        if dialect.name == "postgresql":
            return bytes_to_bitstring(value)
        return bytes(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            return bitstring_to_bytes(value if isinstance(value, str) else value.to_text())
        return bytes(value)


class Embedding(TypeDecorator):
    """A float vector of any dimension, stored as half precision."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(HALFVEC())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        vector = np.asarray(value, dtype=np.float32).ravel()
        if dialect.name == "postgresql":
            return vector
        return vector.astype("<f2").tobytes()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            return np.asarray(value.to_list() if hasattr(value, "to_list") else value, dtype=np.float32)
        return np.frombuffer(value, dtype="<f2").astype(np.float32)


def bytes_to_bitstring(value: bytes) -> str:
    return "".join(f"{byte:08b}" for byte in value)


def bitstring_to_bytes(bits: str) -> bytes:
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""

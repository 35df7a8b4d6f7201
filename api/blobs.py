"""Content-addressed blob store under ``$PROVENANCE_HOME/blobs``.

An upload is streamed to ``blobs/tmp/<random>`` with a size cap, checked, and only then
renamed atomically to ``blobs/ab/cd/<sha256>``. The client's file name never reaches the
file system: it is cleaned for display (``client_name``) and stored only as text.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from provenance.errors import MediaError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
MAX_NAME = 200


class UploadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload exceeds the limit of {limit:,} bytes")
        self.limit = limit


def client_name(filename: str | None) -> str:
    """A display name from a client-supplied file name: last path component, printable, bounded."""
    raw = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch if ch.isprintable() else "_" for ch in raw).strip().strip(".")
    return cleaned[:MAX_NAME] or "upload"


def public_message(message: str, path: Path, name: str) -> str:
    """An intake error message about ``path`` as the client should read it: named after
    its upload, with no server path in it."""
    return message.replace(str(path), name).replace(str(path.resolve()), name).replace(path.name, name)


@dataclass
class TempUpload:
    """An upload on disk under ``blobs/tmp``, not yet part of the store."""

    path: Path
    size: int
    sha256: str
    name: str = "upload"  # the client's file name, cleaned for display; never a path

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def temp_path(self) -> Path:
        return self.tmp / f"upload-{uuid.uuid4().hex}"

    def receive(self, stream: BinaryIO, max_bytes: int) -> TempUpload:
        """Copy ``stream`` to a temporary file, hashing it; ``UploadTooLarge`` past ``max_bytes``."""
        path, digest, size = self.temp_path(), hashlib.sha256(), 0
        try:
            with path.open("xb") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadTooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return TempUpload(path, size, digest.hexdigest())

    @contextmanager
    def staged(self, stream: BinaryIO, filename: str | None, max_bytes: int, keep: bool = True) -> Iterator[TempUpload]:
        """Receive an upload for the block to check or use. If the block fails, the upload
        is discarded (nothing is left behind) and intake errors are reworded to name the
        client's file instead of a server path. ``keep=False`` discards it in any case."""
        upload = self.receive(stream, max_bytes)
        upload.name = client_name(filename)
        try:
            yield upload
        except MediaError as exc:
            upload.discard()
            raise type(exc)(public_message(str(exc), upload.path, upload.name)) from exc
        except BaseException:
            upload.discard()
            raise
        if not keep:
            upload.discard()

    def commit(self, upload: TempUpload) -> tuple[Path, bool]:
        """Move a checked upload into place; returns (path, created). Idempotent per content."""
        final = self.path_for(upload.sha256)
        if final.is_file():
            upload.discard()
            return final, False
        final.parent.mkdir(parents=True, exist_ok=True)
        with upload.path.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(upload.path, final)
        return final, True

    def put_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        final = self.path_for(digest)
        if not final.is_file():
            final.parent.mkdir(parents=True, exist_ok=True)
            temp = self.temp_path()
            temp.write_bytes(data)
            os.replace(temp, final)
        return digest

    def read(self, sha256: str) -> bytes | None:
        path = self.path_for(sha256)
        return path.read_bytes() if path.is_file() else None

    def delete(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    def files(self) -> list[Path]:
        """Every stored blob and leftover temporary file (tests check nothing is left behind)."""
        return sorted(p for p in self.root.rglob("*") if p.is_file())

    def cleanup_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files a crashed request left behind."""
        removed, cutoff = 0, time.time() - older_than_s
        for path in self.tmp.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

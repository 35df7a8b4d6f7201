"""Register rights holders' works: intake, fingerprints, store — all or nothing."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.fingerprint import Fingerprinter, jpeg_thumbnail
from provenance.matching.views import reference_views
from provenance.media import load_media
from provenance.media.intake import identify
from provenance.settings import Settings
from reference_db.models import Work
from reference_db.store import FrameRecord, NewWork, Store


@dataclass
class RegisteredWork:
    work: Work
    created: bool
    frames: int
    path: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.work.id,
            "title": self.work.title,
            "holder": self.work.holder.name,
            "kind": self.work.kind,
            "frames": self.frames,
            "path": self.path,
            "created": self.created,
            "sha256": self.work.sha256,
            "opt_out": {"train": self.work.opt_out_train, "generate": self.work.opt_out_generate},
        }


def display_name(path: Path) -> str:
    """A file name safe to show and store: printable, bounded, never used as a path."""
    cleaned = "".join(ch if ch.isprintable() and ch not in "/\\" else "_" for ch in path.name)
    return cleaned[:200] or "upload"


class Registrar:
    def __init__(self, settings: Settings, store: Store, fingerprinter: Fingerprinter) -> None:
        self.settings, self.store, self.fingerprinter = settings, store, fingerprinter

    def register(
        self,
        path: Path,
        holder: str,
        title: str | None = None,
        opt_out_train: bool = False,
        opt_out_generate: bool = False,
        metadata: dict[str, Any] | None = None,
        source_name: str | None = None,
    ) -> RegisteredWork:
        path = Path(path)
        source = identify(path, self.settings)
        with self.store.session() as session:  # idempotency before any decoding work
            holder_row = self.store.get_or_create_holder(session, holder)
            existing = self.store.find_work(session, holder_row.id, source.sha256)
            if existing is not None:
                existing.holder
                counts = self.store.frame_counts([existing.id])
                return RegisteredWork(existing, False, counts.get(existing.id, 0), str(path))
        sample = load_media(path, self.settings)
        frames = self.frame_records(sample.frames, still=sample.kind == "image")
        name = (source_name or display_name(path))[:200]  # fits the column on every backend
        new = NewWork(
            holder=holder,
            title=(title or Path(name).stem)[:500],
            kind=sample.kind,
            sha256=source.sha256,
            size_bytes=source.size,
            media_format=source.format,
            duration=sample.duration,
            width=sample.width,
            height=sample.height,
            opt_out_train=opt_out_train,
            opt_out_generate=opt_out_generate,
            source_name=name,
            metadata=metadata or {},
        )
        work, created = self.store.add_work(new, frames)
        work.holder
        return RegisteredWork(work, created, len(sample.frames), str(path))

    def frame_records(self, frames, still: bool = False) -> list[FrameRecord]:
        """One ``full`` record per sampled frame (with its JPEG), followed by its derived
        views (mirror, borders removed, centred crops of stills: see
        ``provenance.matching.views``), hashed with the hash signals only."""
        images = [frame.rgb for frame in frames]
        fingerprints = self.fingerprinter.fingerprint(images)
        hash_signals = [s for s in self.fingerprinter.active if s.index_kind == "hamming"]
        records = []
        for frame, values in zip(frames, fingerprints):
            columns: dict[str, Any] = {}
            for signal in self.fingerprinter.active:
                columns.update(signal.to_columns(values.get(signal.name)))
            jpeg, size = jpeg_thumbnail(frame.rgb) if self.settings.store_frame_images else (None, None)
            records.append(FrameRecord(frame.index, frame.timestamp, "full", columns, jpeg, size))
            records.extend(self._variant_records(frame, hash_signals, still))
        return records

    def _variant_records(self, frame, signals, still: bool) -> list[FrameRecord]:
        if not signals:
            return []
        views = reference_views(frame.rgb, still)
        records = []
        computed = {signal.name: signal.compute([image for _, image in views]) for signal in signals}
        for position, (variant, _) in enumerate(views):
            columns: dict[str, Any] = {}
            for signal in signals:
                columns.update(signal.to_columns(computed[signal.name][position]))
            records.append(FrameRecord(frame.index, frame.timestamp, variant, columns))
        return records

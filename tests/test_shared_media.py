"""Issue 2 acceptance on ../shared/media: every registered work finds itself, no unregistered file is a match."""
from __future__ import annotations

from pathlib import Path

import pytest

from provenance.runtime import Runtime
from provenance.settings import Settings
from tests.media_factory import SHARED_MEDIA

pytestmark = pytest.mark.skipif(not (SHARED_MEDIA / "works").is_dir(), reason=f"shared media not found at {SHARED_MEDIA}")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Runtime:
    home = tmp_path_factory.mktemp("shared-store")
    runtime = Runtime.open(Settings(home=home, clip_enabled=False))
    for path in sorted((SHARED_MEDIA / "works").rglob("*")):
        if path.is_file():
            runtime.registrar.register(path, "Shared Media Holder")
    yield runtime
    runtime.close()


def _works() -> list[Path]:
    return sorted(p for p in (SHARED_MEDIA / "works").rglob("*") if p.is_file()) if SHARED_MEDIA.is_dir() else []


def _others() -> list[Path]:
    return sorted(p for p in (SHARED_MEDIA / "others").rglob("*") if p.is_file()) if SHARED_MEDIA.is_dir() else []


def test_every_work_scanned_unchanged_matches_itself_first(runtime: Runtime) -> None:
    failures = []
    for path in _works():
        result = runtime.scanner.scan_file(path)
        top = result.matches[0] if result.matches else None
        if result.verdict != "match" or top is None or top.title != path.stem:
            failures.append((path.name, result.verdict, top and top.title))
    assert not failures
    assert len(_works()) >= 40


def test_no_unregistered_file_is_a_match(runtime: Runtime) -> None:
    matched = [(p.name, r.matches[0].title, r.matches[0].score) for p in _others() if (r := runtime.scanner.scan_file(p)).verdict == "match"]
    assert not matched
    assert len(_others()) >= 100

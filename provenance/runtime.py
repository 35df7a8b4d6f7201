"""Wire the parts together from settings: store, searcher, signals, matcher, scanner.

The CLI, the API and the workers each open one ``Runtime`` per process.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from provenance.fingerprint import Fingerprinter
from provenance.matching.matcher import Matcher, MatcherConfig, index_spec
from provenance.matching.scoring import Thresholds
from provenance.registration import Registrar
from provenance.scanner import Scanner
from provenance.settings import Settings
from provenance.signals import build_signals
from reference_db.indexes.base import FrameSearcher
from reference_db.indexes.factory import open_searcher
from reference_db.store import Store

log = logging.getLogger(__name__)


def thresholds_from(settings: Settings) -> Thresholds:
    defaults = Thresholds()
    return Thresholds(
        match=settings.match_threshold if settings.match_threshold is not None else defaults.match,
        similar=settings.similar_threshold if settings.similar_threshold is not None else defaults.similar,
    )


@dataclass
class Runtime:
    settings: Settings
    store: Store
    searcher: FrameSearcher
    fingerprinter: Fingerprinter
    matcher: Matcher
    scanner: Scanner
    registrar: Registrar

    @classmethod
    def open(cls, settings: Settings, with_provenance: bool = True) -> "Runtime":
        settings.home.mkdir(parents=True, exist_ok=True)
        store = Store.open(settings.resolved_database_url)
        searcher = open_searcher(store, settings.index_backend)
        fingerprinter = Fingerprinter(build_signals(settings))
        matcher = Matcher(store, searcher, fingerprinter, MatcherConfig.from_env(thresholds_from(settings)))
        check = _provenance_check(settings, store) if with_provenance else None
        scanner = Scanner(settings, fingerprinter, matcher, check)
        return cls(settings, store, searcher, fingerprinter, matcher, scanner, Registrar(settings, store, fingerprinter))

    def warm(self, keypoints: bool = True) -> None:
        """Load models and indexes now rather than on the first request. The local-feature
        index is the slow part (ORB on every stored frame): ``keypoints=False`` skips it."""
        specs = [index_spec(signal) for signal in self.fingerprinter.active]
        warm = getattr(self.searcher, "warm", None)
        if warm is not None:
            warm(specs)
        if keypoints:
            self.matcher.warm()

    def close(self) -> None:
        self.store.close()


def _provenance_check(settings: Settings, store: Store):
    """Run the provenance detectors; rebuilt only when the set of logo templates changes,
    so templates an admin registers are used by already-running processes too."""
    from sqlalchemy import select

    from provenance.detectors.registry import build_detectors, run_detectors
    from reference_db.logos import list_logos
    from reference_db.models import LogoTemplate

    built: dict[str, Any] = {"key": None, "detectors": []}

    def check(sample):
        with store.session() as session:
            key = tuple(session.execute(select(LogoTemplate.id, LogoTemplate.created_at)).all())
            if key != built["key"]:
                built["key"], built["detectors"] = key, build_detectors(settings, list_logos(session))
        return [signal.to_dict() for signal in run_detectors(sample, built["detectors"])]

    return check

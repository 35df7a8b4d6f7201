"""Provenance detectors: where did this media come from (C2PA, declared metadata, watermarks)?

Each detector is a plugin (see ``base.Detector``); ``registry.run_detectors`` runs the
configured ones and returns one ``ProvenanceSignal`` per detector.
"""

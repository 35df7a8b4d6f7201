"""Provenance: copyright and provenance checking for generated media."""

__version__ = "0.1.0"

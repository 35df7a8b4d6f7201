"""Workarounds for third-party packaging quirks, each in its own module."""

"""The reference store: rights holders, works, per-frame fingerprints, and their indexes."""

"""The accuracy benchmark behind ``provenance bench``: seeded copies of reference media,
scanned against a throwaway store, measured beside plain PDQ and pHash baselines."""

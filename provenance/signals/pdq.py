"""PDQ: Meta's 256-bit perceptual hash, with its quality score."""
from __future__ import annotations

import numpy as np
import pdqhash

from provenance.signals.base import Fingerprint, HashSignal, pack_bits, working_copy

# Meta's recommended match threshold for PDQ is 31 of 256 bits.
PDQ_THRESHOLD = 31
# Below this quality PDQ hashes flat images unreliably (ThreatExchange uses 50).
MIN_QUALITY = 50


class PdqSignal(HashSignal):
    name = "pdq"
    dimension = 256
    column = "pdq"
    default_threshold = float(PDQ_THRESHOLD)

    def compute(self, images: list[np.ndarray]) -> list[Fingerprint | None]:
        results: list[Fingerprint | None] = []
        for image in images:
            bits, quality = pdqhash.compute(working_copy(image, self.working_size))
            results.append(Fingerprint(pack_bits(bits), int(quality)))
        return results

    def compute_dihedral(self, image: np.ndarray) -> list[Fingerprint]:
        """The 8 rotations/flips of ``image`` at the cost of one hash (flip-aware matching)."""
        bits_list, quality = pdqhash.compute_dihedral(working_copy(image, self.working_size))
        return [Fingerprint(pack_bits(bits), int(quality)) for bits in bits_list]

    def to_columns(self, fingerprint: Fingerprint | None) -> dict:
        if fingerprint is None:
            return {"pdq": None, "pdq_quality": None}
        return {"pdq": fingerprint.value, "pdq_quality": fingerprint.quality}

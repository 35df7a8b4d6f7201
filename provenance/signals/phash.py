"""pHash: the 64-bit DCT hash of ``imagehash``."""
from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

from provenance.signals.base import Fingerprint, HashSignal, pack_bits, working_copy


class PHashSignal(HashSignal):
    name = "phash"
    dimension = 64
    column = "phash"
    default_threshold = 8.0  # 64-bit pHash: clip art on white collides at 10 (measured on ../shared/media/others)

    def compute(self, images: list[np.ndarray]) -> list[Fingerprint | None]:
        return [
            Fingerprint(pack_bits(imagehash.phash(Image.fromarray(working_copy(image, self.working_size))).hash))
            for image in images
        ]

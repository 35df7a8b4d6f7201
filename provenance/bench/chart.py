"""PNG chart of the benchmark: per-transform recall at precision >= 0.99, side by side
with the PDQ-only and pHash-only baselines, plus the video summary."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from provenance.bench.report import SYSTEMS  # noqa: E402

COLOURS = {"provenance": "#b3261e", "pdq_only": "#5b7db1", "phash_only": "#9bb07a"}


def write_chart(results: dict[str, Any], path: Path) -> Path:
    images = results.get("images") or {}
    videos = results.get("videos") or {}
    transforms = sorted((images.get("provenance") or {}).get("per_transform", {}))
    figure, axes = plt.subplots(
        1, 2 if videos else 1, figsize=(15 if videos else 12, 6.2), gridspec_kw={"width_ratios": [4, 1]} if videos else None, squeeze=False
    )
    axis = axes[0][0]
    if transforms:
        x = np.arange(len(transforms))
        width = 0.27
        for offset, (key, label) in zip((-width, 0.0, width), SYSTEMS):
            per = images.get(key, {}).get("per_transform", {})
            values = [per.get(name, {}).get("recall_at_p99") or 0.0 for name in transforms]
            overall = images.get(key, {}).get("recall_at_p99")
            axis.bar(x + offset, values, width, label=f"{label} (all: {overall:.0%})" if overall is not None else label, color=COLOURS[key])
        axis.set_xticks(x, transforms, rotation=40, ha="right")
        axis.set_ylim(0, 1.05)
        axis.set_ylabel("recall at precision ≥ 0.99")
        axis.axhline(0.7, color="#999", linestyle=":", linewidth=1)
        axis.set_title("Images: recall per transform (each system at its own P≥0.99 threshold)")
        axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, fontsize=9, frameon=False)
    if videos:
        axis = axes[0][1]
        labels = ["detected", "query IoU", "ref IoU"]
        values = [videos.get("detected_share") or 0.0, videos.get("median_query_iou") or 0.0, videos.get("median_ref_iou") or 0.0]
        axis.bar(labels, values, color=COLOURS["provenance"])
        axis.set_ylim(0, 1.05)
        axis.set_title(f"Video ({videos.get('positive_clips', 0)} clips)")
        for i, value in enumerate(values):
            axis.text(i, value + 0.02, f"{value:.2f}", ha="center", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path

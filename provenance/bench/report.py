"""Human-readable views of benchmark results: a markdown report and terminal tables."""
from __future__ import annotations

from typing import Any

SYSTEMS = (("provenance", "Provenance"), ("pdq_only", "PDQ only"), ("phash_only", "pHash only"))


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    """Rows of the headline table: metric, then one column per system."""
    images = results.get("images") or {}
    rows = [
        ["micro-AP"] + [_num(images.get(key, {}).get("micro_ap")) for key, _ in SYSTEMS],
        ["recall @ precision ≥ 0.99"] + [_pct(images.get(key, {}).get("recall_at_p99")) for key, _ in SYSTEMS],
        ["recall @ precision ≥ 0.999"] + [_pct(images.get(key, {}).get("recall_at_p999")) for key, _ in SYSTEMS],
        ["score threshold for P ≥ 0.99"] + [_num(images.get(key, {}).get("threshold_at_p99")) for key, _ in SYSTEMS],
    ]
    return rows


def family_rows(results: dict[str, Any], attribute: str = "per_family") -> list[list[str]]:
    images = results.get("images") or {}
    names = sorted((images.get("provenance") or {}).get(attribute, {}))
    rows = []
    for name in names:
        cells = [name, str(images["provenance"][attribute][name]["queries"])]
        for key, _ in SYSTEMS:
            cells.append(_pct(images.get(key, {}).get(attribute, {}).get(name, {}).get("recall_at_p99")))
        rows.append(cells)
    return rows


def verdict_rows(results: dict[str, Any]) -> list[list[str]]:
    verdicts = ((results.get("images") or {}).get("provenance") or {}).get("verdicts") or {}
    videos = results.get("videos") or {}
    rows = [
        ["`match` precision (images)", _pct(verdicts.get("match_precision"))],
        ["`match` recall (images)", _pct(verdicts.get("match_recall"))],
        ["false `match` verdicts (images)", str(verdicts.get("false_matches", "–"))],
        [
            "negative image queries with a `match`",
            f"{verdicts.get('negative_queries_with_match', '–')} / {verdicts.get('negative_queries', '–')}"
            + (
                f" (95% upper bound {_pct(verdicts['negative_false_match_rate_upper_95'])})"
                if verdicts.get("negative_false_match_rate_upper_95") is not None
                else ""
            ),
        ],
        ["negative image queries with `similar`", f"{verdicts.get('negative_queries_with_similar', '–')} / {verdicts.get('negative_queries', '–')}"],
    ]
    if videos:
        rows += [
            ["positive clips detected (right work first, `match`)", f"{videos['detected']} / {videos['positive_clips']}"],
            ["median segment IoU, query timeline", _num(videos.get("median_query_iou"))],
            ["median segment IoU, reference timeline", _num(videos.get("median_ref_iou"))],
            ["compilations localised within 1 s at both ends", f"{videos['compilations_within_1s']} / {videos['compilations']}"],
            ["negative clips with a `match`", f"{videos['negative_clips_with_match']} / {videos['negative_clips']}"],
        ]
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    systems = [label for _, label in SYSTEMS]
    parts = [
        "# Provenance accuracy benchmark",
        "",
        f"Command: `{results.get('command')}`",
        "",
        "Signals: " + ", ".join(f"{name} ({info.get('status')})" for name, info in (results.get("signals") or {}).items()),
        "",
        f"Counts: {results.get('counts')}",
        "",
        "## Images",
        "",
        _table(["metric"] + systems, summary_rows(results)),
        "",
        "Recall per family at each system's own precision ≥ 0.99 threshold:",
        "",
        _table(["family", "queries"] + systems, family_rows(results)),
        "",
        "Per transform:",
        "",
        _table(["transform", "queries"] + systems, family_rows(results, "per_transform")),
        "",
        "## Verdicts and video",
        "",
        _table(["measure", "value"], verdict_rows(results)),
        "",
    ]
    videos = results.get("videos")
    if videos:
        rows = []
        for clip in videos["clips"]:
            rows.append(
                [
                    clip["id"],
                    clip["transform"],
                    "negative" if clip["negative"] else ("yes" if clip["detected"] else "NO"),
                    _num(clip.get("score", clip.get("top_score"))),
                    _num(clip.get("query_iou")),
                    _num(clip.get("ref_iou")),
                    f"{_num(clip.get('start_error'), 2)} / {_num(clip.get('end_error'), 2)}",
                ]
            )
        parts += [_table(["clip", "edit", "detected", "score", "query IoU", "ref IoU", "start / end error (s)"], rows), ""]
    calibration = results.get("calibration") or {}
    if calibration:
        rows = [
            [
                _num(row["threshold"], 2),
                f"{row['false_pairs']} ({row['pair_false_match_rate']:.1e})",
                f"{row['negative_queries_over']} / {calibration['negative_queries']}",
                _pct(row["recall"]),
            ]
            for row in calibration["table"]
        ]
        parts += [
            "## Score calibration",
            "",
            f"{calibration['negative_pairs']} non-copy (query, work) pairs; highest score of a non-copy pair: "
            f"{calibration['max_negative_pair_score']}.",
            "",
            _table(["threshold", "non-copy pairs at or above", "negative queries at or above", "recall of copies"], rows),
            "",
        ]
    timing = results.get("timing_seconds") or {}
    parts += [f"Timing: {timing}", ""]
    return "\n".join(parts)

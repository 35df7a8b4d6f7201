"""``provenance bench``: register references in a throwaway store, scan seeded copies and
unrelated media, and measure — beside plain PDQ and pHash baselines from the same run.

Nothing touches the user's store: the run uses a temporary SQLite store whatever
``PROVENANCE_DATABASE_URL`` says. CLIP is used when its weights are installed (the
signal statuses are recorded in the results).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from provenance.bench import metrics, transforms
from provenance.bench import video as video_edits
from provenance.bench.queries import BenchQuery, image_queries, video_queries
from provenance.media.intake import identify
from provenance.media.sniff import MEDIA_EXTENSIONS
from provenance.settings import Settings

PRECISIONS = (0.99, 0.999)
BASELINES = ("pdq", "phash")
HOLDER = "bench"
DISTRACTOR_HOLDER = "bench-distractors"


@dataclass
class BenchOptions:
    references: Path
    negatives: Path | None = None
    out: Path = Path("bench-results")
    seed: int = 0
    per_transform: int = 1
    videos: bool = True
    quick: bool = False
    jobs: int = 0  # 0: one per CPU, at most 4
    distractor_share: float = 1 / 3  # of the negatives folder, registered as unrelated works
    negative_edits: int = 4  # edited copies per negative picture, besides the picture itself
    still_pans: int = 6
    negative_clips: int = 3
    top: int = 10
    keep: bool = False  # keep the temporary store and queries
    transforms: tuple[str, ...] = ()
    video_edits: tuple[str, ...] = ()


Progress = Callable[[str, int, int, str], None]  # (stage, done, total, detail)


def _media_files(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS)


def _split(files: list[Path], settings: Settings) -> tuple[list[Path], list[Path]]:
    images, videos = [], []
    for path in files:
        try:
            (images if identify(path, settings).kind == "image" else videos).append(path)
        except Exception:  # noqa: BLE001 - unreadable files are simply not part of the benchmark
            continue
    return images, videos


# -- scanning in worker processes ---------------------------------------------------------
_worker_runtime = None


def _worker_init(settings: Settings) -> None:
    global _worker_runtime
    from provenance.runtime import Runtime

    _worker_runtime = Runtime.open(settings, with_provenance=False)
    _worker_runtime.warm()


def _scan(path: str, top: int) -> dict[str, Any]:
    runtime = _worker_runtime
    recorded: dict[str, Any] = {}
    fingerprinter = runtime.scanner.fingerprinter
    original = fingerprinter.fingerprint

    def recording(images):
        result = original(images)
        recorded["fingerprints"] = result
        return result

    fingerprinter.fingerprint = recording
    try:
        result = runtime.scanner.scan_file(path, top=top)
    except Exception as exc:  # noqa: BLE001 - a query that fails to scan counts as missed
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        fingerprinter.fingerprint = original
    frames = []
    for values in recorded.get("fingerprints", []):
        frames.append({name: (fp.value.hex() if fp is not None and isinstance(fp.value, bytes) else None) for name, fp in values.items() if name in BASELINES})
    return {
        "verdict": result.verdict,
        "matches": [
            {
                "work_id": m.work_id,
                "score": m.score,
                "verdict": m.verdict,
                "segments": [[s.query_start, s.query_end, s.ref_start, s.ref_end, s.score] for s in m.segments],
                "inliers": (m.evidence.get("geometry") or {}).get("best_inliers"),
                "ncc": (m.evidence.get("geometry") or {}).get("ncc"),
                "distances": {name: e.get("best_distance") for name, e in (m.evidence.get("signals") or {}).items()},
                "channels": m.evidence.get("channels", {}),
            }
            for m in result.matches
        ],
        "timings": result.timings,
        "duration": result.duration,
        "frames": frames,
        "signals": result.signals,
    }


# -- baselines ----------------------------------------------------------------------------
def _reference_hashes(store) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """signal -> (codes of every ``full`` reference frame, their work ids)."""
    from sqlalchemy import select

    from reference_db.models import ReferenceFrame

    out = {}
    with store.session() as session:
        rows = list(session.execute(select(ReferenceFrame.work_id, ReferenceFrame.pdq, ReferenceFrame.phash).where(ReferenceFrame.variant == "full")))
    for index, name in ((1, "pdq"), (2, "phash")):
        kept = [r for r in rows if r[index] is not None]
        if kept:
            codes = np.frombuffer(b"".join(r[index] for r in kept), dtype=np.uint8).reshape(len(kept), -1)
            out[name] = (codes, np.array([r[0] for r in kept]))
    return out


def _baseline_predictions(scan: dict, signal: str, references, top: int) -> list[tuple[int, float]]:
    """Plain hash matching: each work's smallest distance over query x reference frames,
    as a score 1 - distance / bits (the top ``top`` works)."""
    if signal not in references:
        return []
    codes, works = references[signal]
    values = [bytes.fromhex(f[signal]) for f in scan.get("frames", []) if f.get(signal)]
    if not values:
        return []
    query = np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), -1)
    distances = np.bitwise_count(np.bitwise_xor(query[:, None, :], codes[None, :, :])).sum(axis=2).min(axis=0)
    bits = codes.shape[1] * 8
    best: dict[int, float] = {}
    for work, distance in zip(works, distances):
        score = 1.0 - float(distance) / bits
        if score > best.get(int(work), -1.0):
            best[int(work)] = score
    return sorted(best.items(), key=lambda item: -item[1])[:top]


# -- metrics ------------------------------------------------------------------------------
def _image_metrics(queries: list[BenchQuery], scans: dict[str, dict], work_of: dict[str, int], predictor, match_verdicts: bool) -> dict:
    predictions: list[metrics.Prediction] = []
    truth: set[tuple[str, int]] = set()
    for query in queries:
        if query.reference is not None:
            truth.add((query.id, work_of[query.reference]))
        for work_id, score in predictor(query, scans[query.id]):
            predictions.append((query.id, work_id, score))
    result: dict[str, Any] = {
        "queries": len(queries),
        "positives": len(truth),
        "negatives": sum(q.negative for q in queries),
        "micro_ap": round(metrics.micro_ap(predictions, truth), 4),
    }
    per_transform: dict[str, dict] = {}
    per_family: dict[str, dict] = {}
    for precision in PRECISIONS:
        recall, threshold = metrics.recall_at_precision(predictions, truth, precision)
        label = f"p{precision:g}".replace("0.", "")
        result[f"recall_at_{label}"] = round(recall, 4)
        result[f"threshold_at_{label}"] = None if threshold is None else round(threshold, 4)
        for attribute, target in (("transform", per_transform), ("family", per_family)):
            groups: dict[str, set] = defaultdict(set)
            for query in queries:
                if query.reference is not None:
                    groups[getattr(query, attribute)].add((query.id, work_of[query.reference]))
            for name, group_truth in groups.items():
                group_predictions = [p for p in predictions if (p[0], p[1]) in group_truth]
                target.setdefault(name, {"queries": len(group_truth)})[f"recall_at_{label}"] = round(
                    metrics.recall_at_threshold(group_predictions, group_truth, threshold), 4
                )
    result["per_transform"] = dict(sorted(per_transform.items()))
    result["per_family"] = dict(sorted(per_family.items()))
    if match_verdicts:
        result["verdicts"] = _verdict_metrics(queries, scans, work_of)
    return result


def _verdict_metrics(queries: list[BenchQuery], scans: dict[str, dict], work_of: dict[str, int]) -> dict:
    tp = fp = positives = found = 0
    negative_queries = negative_matched = negative_similar = 0
    wrong_work_matches = 0
    top_scores_negative: list[float] = []
    for query in queries:
        scan = scans[query.id]
        truth_work = work_of.get(query.reference) if query.reference else None
        matched = [m for m in scan.get("matches", []) if m["verdict"] == "match"]
        for m in matched:
            if m["work_id"] == truth_work:
                tp += 1
            else:
                fp += 1
                if truth_work is not None:
                    wrong_work_matches += 1
        if truth_work is not None:
            positives += 1
            found += any(m["work_id"] == truth_work for m in matched)
        else:
            negative_queries += 1
            negative_matched += bool(matched)
            negative_similar += any(m["verdict"] == "similar" for m in scan.get("matches", []))
            top_scores_negative.append(max((m["score"] for m in scan.get("matches", [])), default=0.0))
    return {
        "match_precision": None if tp + fp == 0 else round(tp / (tp + fp), 4),
        "match_recall": None if not positives else round(found / positives, 4),
        "true_matches": tp,
        "false_matches": fp,
        "false_matches_on_positive_queries": wrong_work_matches,
        "negative_queries": negative_queries,
        "negative_queries_with_match": negative_matched,
        "negative_false_match_rate": metrics.rate(negative_matched, negative_queries),
        "negative_false_match_rate_upper_95": metrics.upper_bound_zero_events(negative_queries) if negative_matched == 0 else None,
        "negative_queries_with_similar": negative_similar,
        "negative_top_score_quantiles": _quantiles(top_scores_negative),
    }


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    array = np.array(values)
    return {name: round(float(np.quantile(array, q)), 4) for name, q in (("median", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))}


def _video_metrics(queries: list[BenchQuery], scans: dict[str, dict], work_of: dict[str, int], kind_of: dict[int, str]) -> dict:
    clips = []
    for query in queries:
        scan = scans[query.id]
        matches = scan.get("matches", [])
        entry: dict[str, Any] = {"id": query.id, "transform": query.transform, "params": query.params}
        if query.reference is None:
            entry.update({"negative": True, "verdict": scan.get("verdict"), "top_score": matches[0]["score"] if matches else 0.0})
            clips.append(entry)
            continue
        work = work_of[query.reference]
        truth = query.truth
        top = matches[0] if matches else None
        own = next((m for m in matches if m["work_id"] == work), None)
        entry.update(
            {
                "negative": False,
                "detected": bool(top and top["work_id"] == work and top["verdict"] == "match"),
                "top_is_right_work": bool(top and top["work_id"] == work),
                "verdict": own["verdict"] if own else "no_match",
                "score": own["score"] if own else 0.0,
                "truth": [truth.query_start, truth.query_end, truth.ref_start, truth.ref_end],
            }
        )
        if own and own["segments"]:
            segment = own["segments"][0]
            entry["segment"] = segment
            entry["query_iou"] = round(metrics.interval_iou((segment[0], segment[1]), (truth.query_start, truth.query_end)), 4)
            if kind_of.get(work) == "video":
                entry["ref_iou"] = round(metrics.interval_iou((segment[2], segment[3]), (truth.ref_start, truth.ref_end)), 4)
            entry["start_error"] = round(abs(segment[0] - truth.query_start), 3)
            entry["end_error"] = round(abs(segment[1] - truth.query_end), 3)
        else:
            entry.update({"query_iou": 0.0, "ref_iou": 0.0 if kind_of.get(work) == "video" else None})
        clips.append(entry)
    positives = [c for c in clips if not c["negative"]]
    negatives = [c for c in clips if c["negative"]]
    query_ious = [c["query_iou"] for c in positives]
    ref_ious = [c["ref_iou"] for c in positives if c.get("ref_iou") is not None]
    compilations = [c for c in positives if c["transform"] == "compilation"]
    return {
        "positive_clips": len(positives),
        "detected": sum(c["detected"] for c in positives),
        "detected_share": metrics.rate(sum(c["detected"] for c in positives), len(positives)),
        "right_work_first_share": metrics.rate(sum(c["top_is_right_work"] for c in positives), len(positives)),
        "median_query_iou": round(statistics.median(query_ious), 4) if query_ious else None,
        "median_ref_iou": round(statistics.median(ref_ious), 4) if ref_ious else None,
        "min_query_iou": round(min(query_ious), 4) if query_ious else None,
        "compilation_boundary_errors": [[c.get("start_error"), c.get("end_error")] for c in compilations],
        "compilations_within_1s": sum(
            1 for c in compilations if c.get("start_error") is not None and c["start_error"] <= 1.0 and c["end_error"] <= 1.0
        ),
        "compilations": len(compilations),
        "negative_clips": len(negatives),
        "negative_clips_with_match": sum(c["verdict"] == "match" for c in negatives),
        "clips": clips,
    }


# -- the run ------------------------------------------------------------------------------
def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    from provenance.runtime import Runtime

    def report(stage: str, done: int, total: int, detail: str = "") -> None:
        if progress:
            progress(stage, done, total, detail)

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="provenance-bench-"))
    base = Settings.from_env()
    settings = replace(base, home=root / "home", database_url=f"sqlite:///{root / 'bench.db'}", index_backend="faiss")
    try:
        reference_images, reference_videos = _split(_media_files(options.references), settings)
        negative_images, _ = _split(_media_files(options.negatives), settings)
        if not reference_images and not reference_videos:
            raise ValueError(f"no images or videos under {options.references}")
        rng = np.random.default_rng([options.seed, 0])
        order = rng.permutation(len(negative_images))
        n_distractors = int(round(len(negative_images) * options.distractor_share))
        distractors = [negative_images[i] for i in sorted(order[:n_distractors])]
        negatives = [negative_images[i] for i in sorted(order[n_distractors:])]
        chosen_transforms = transforms.by_name(options.transforms or (transforms.QUICK_TRANSFORMS if options.quick else None))
        edits = list(options.video_edits or (video_edits.QUICK_VIDEO_EDITS if options.quick else video_edits.VIDEO_EDITS))
        if options.quick:
            reference_images = reference_images[:6]
            reference_videos = reference_videos[:1]
            negatives, distractors = negatives[:6], distractors[:4]
        if not options.videos:
            reference_videos = []

        runtime = Runtime.open(settings, with_provenance=False)
        work_of: dict[str, int] = {}
        kind_of: dict[int, str] = {}
        to_register = [(p, HOLDER) for p in reference_images + reference_videos] + [(p, DISTRACTOR_HOLDER) for p in distractors]
        t0 = time.perf_counter()
        for done, (path, holder) in enumerate(to_register):
            report("register", done, len(to_register), path.name)
            registered = runtime.registrar.register(path, holder)
            kind_of[registered.work.id] = registered.work.kind
            if holder == HOLDER:
                work_of[str(path.relative_to(options.references))] = registered.work.id
        report("register", len(to_register), len(to_register), "")
        register_seconds = time.perf_counter() - t0
        key_of = {path: str(path.relative_to(options.references)) for path in reference_images + reference_videos}

        t0 = time.perf_counter()
        query_dir = root / "queries"
        total_images = len(reference_images) * len(chosen_transforms) + len(negatives)
        counter = {"n": 0}

        def image_progress(detail: str) -> None:
            counter["n"] += 1
            report("queries", counter["n"], total_images + len(reference_videos) * len(edits) * options.per_transform, detail)

        queries = image_queries(
            {key_of[p]: p for p in reference_images},
            negatives,
            chosen_transforms,
            options.per_transform,
            0 if options.quick else options.negative_edits,
            query_dir,
            options.seed,
            image_progress,
        )
        if reference_videos or (options.videos and reference_images):
            queries += video_queries(
                {key_of[p]: p for p in reference_videos},
                {key_of[p]: p for p in reference_images} if options.videos else {},
                negatives,
                edits,
                options.per_transform,
                (1 if options.quick else options.still_pans) if options.videos else 0,
                (1 if options.quick else options.negative_clips) if options.videos else 0,
                query_dir,
                options.seed,
                image_progress,
            )
        query_seconds = time.perf_counter() - t0

        t0 = time.perf_counter()
        jobs = options.jobs or min(4, os.cpu_count() or 1)
        scans: dict[str, dict] = {}
        if jobs > 1 and len(queries) > 8:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init, initargs=(settings,)) as pool:
                futures = {q.id: pool.submit(_scan, str(q.path), options.top) for q in queries}
                for done, query in enumerate(queries):
                    scans[query.id] = futures[query.id].result()
                    report("scan", done + 1, len(queries), query.path.name)
        else:
            _worker_init(settings)
            for done, query in enumerate(queries):
                scans[query.id] = _scan(str(query.path), options.top)
                report("scan", done + 1, len(queries), query.path.name)
        scan_seconds = time.perf_counter() - t0
        references = _reference_hashes(runtime.store)
        signals = next((s.get("signals") for s in scans.values() if s.get("signals")), {})
        runtime.close()

        image_set = [q for q in queries if q.kind == "image"]
        video_set = [q for q in queries if q.kind == "video"]

        def ours(query, scan):
            return [(m["work_id"], m["score"]) for m in scan.get("matches", [])]

        def baseline(name):
            return lambda query, scan: _baseline_predictions(scan, name, references, options.top)

        results: dict[str, Any] = {
            "command": None,
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(options).items()},
            "environment": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(), "jobs": jobs},
            "signals": signals,
            "thresholds": _thresholds(settings),
            "counts": {
                "reference_images": len(reference_images),
                "reference_videos": len(reference_videos),
                "distractor_works": len(distractors),
                "negative_pictures": len(negatives),
                "image_queries": len(image_set),
                "video_queries": len(video_set),
            },
            "images": {
                "provenance": _image_metrics(image_set, scans, work_of, ours, True),
                **{f"{name}_only": _image_metrics(image_set, scans, work_of, baseline(name), False) for name in BASELINES},
            }
            if image_set
            else None,
            "videos": _video_metrics(video_set, scans, work_of, kind_of) if video_set else None,
            "calibration": _calibration(image_set + video_set, scans, work_of, len(kind_of)),
            "errors": {q.id: scans[q.id]["error"] for q in queries if "error" in scans[q.id]},
            "timing_seconds": {
                "register": round(register_seconds, 1),
                "make_queries": round(query_seconds, 1),
                "scan": round(scan_seconds, 1),
                "scan_per_image_query_ms": _median_ms(scans, image_set),
                "scan_per_video_query_ms": _median_ms(scans, video_set),
                "total": round(time.perf_counter() - started, 1),
            },
            "queries": [q.to_dict() | {"top": (scans[q.id].get("matches") or [{}])[0]} for q in queries],
        }
        return results
    finally:
        if options.keep:
            print(f"kept benchmark store and queries in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _median_ms(scans: dict[str, dict], queries: list[BenchQuery]) -> float | None:
    values = [scans[q.id]["timings"]["total"] for q in queries if "timings" in scans[q.id]]
    return round(1000 * statistics.median(values), 1) if values else None


def _thresholds(settings: Settings) -> dict[str, float]:
    from provenance.runtime import thresholds_from

    t = thresholds_from(settings)
    return {"match": t.match, "similar": t.similar}


def _calibration(queries: list[BenchQuery], scans: dict[str, dict], work_of: dict[str, int], n_works: int) -> dict:
    """False-match rates and recall of the fused score at candidate thresholds.

    Negative pairs: every (query, work) pair that is not a copy — unrelated works
    returned for positive queries, and everything returned for negative queries.
    Works not returned at all score 0 and are counted as rejected."""
    negative_scores, positive_scores = [], []
    negative_query_top = []
    for query in queries:
        truth_work = work_of.get(query.reference) if query.reference else None
        matches = scans[query.id].get("matches", [])
        for m in matches:
            (positive_scores if m["work_id"] == truth_work else negative_scores).append(m["score"])
        if truth_work is None:
            negative_query_top.append(max((m["score"] for m in matches), default=0.0))
        elif not any(m["work_id"] == truth_work for m in matches):
            positive_scores.append(0.0)
    negative_pairs = len(queries) * n_works - len([q for q in queries if q.reference])
    grid = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    table = []
    for threshold in grid:
        false_pairs = sum(s >= threshold for s in negative_scores)
        table.append(
            {
                "threshold": threshold,
                "false_pairs": false_pairs,
                "pair_false_match_rate": false_pairs / max(1, negative_pairs),
                "negative_queries_over": sum(s >= threshold for s in negative_query_top),
                "negative_query_rate": metrics.rate(sum(s >= threshold for s in negative_query_top), len(negative_query_top)),
                "recall": metrics.rate(sum(s >= threshold for s in positive_scores), len(positive_scores)),
            }
        )
    return {
        "negative_pairs": negative_pairs,
        "negative_queries": len(negative_query_top),
        "max_negative_pair_score": round(max(negative_scores, default=0.0), 4),
        "negative_pair_score_quantiles": _quantiles(negative_scores),
        "table": table,
    }


def write_outputs(results: dict[str, Any], out: Path, command: str) -> dict[str, Path]:
    from provenance.bench.chart import write_chart
    from provenance.bench.report import markdown

    out.mkdir(parents=True, exist_ok=True)
    results["command"] = command
    paths = {"json": out / "bench.json", "markdown": out / "bench.md", "chart": out / "bench.png"}
    paths["json"].write_text(json.dumps(results, indent=2, default=_json_default), encoding="utf-8")
    write_chart(results, paths["chart"])
    paths["markdown"].write_text(markdown(results), encoding="utf-8")
    return paths


def _json_default(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if hasattr(value, "__dict__"):
        return vars(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


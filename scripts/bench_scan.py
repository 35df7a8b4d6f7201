"""Scan cost: a full scan of a 30 s 720p clip, relative to PyAV decoding and sampling it.

The clip (H.264, made here with PyAV from ``../shared/media``): the two synthetic scene
videos' opening seconds, Big Buck Bunny, and a pan over a registered still, 30 s in all.
Measured in one run, on the same clip:

* ``decode``: PyAV decodes every frame (threaded, as intake does) and converts the 1 fps
  samples to RGB at the intake's output size (longer side 1024): the floor any scan pays;
* ``scan (works)``: ``runtime.scanner.scan_file`` (hash signals, CLIP disabled) against a
  store holding the shared works;
* ``scan (10k)``: the same against a store of 10,000 registered frames: the shared works
  plus synthetic video works whose frames have random hashes and JPEG thumbnails cut
  from unrelated pictures (so the local-feature index holds 10,000 frames too).

Each figure is the median of ``--repeats`` interleaved runs after a warm-up scan (indexes
loaded). Ratios, not absolute times, are the result: the host is shared.

    python scripts/bench_scan.py --docs docs/benchmarks.md
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance.bench.video import ClipWriter, _load_still, pan_frames, read_frames  # noqa: E402
from provenance.fingerprint import jpeg_thumbnail  # noqa: E402
from provenance.media.video import _output_size  # noqa: E402
from provenance.settings import SamplingConfig, Settings  # noqa: E402
from reference_db.store import FrameRecord, NewWork, Store  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media"
DOCS_START = "<!-- bench_scan:start -->"
DOCS_END = "<!-- bench_scan:end -->"
FRAMES_PER_SYNTHETIC_WORK = 100


def make_clip(path: Path, media: Path, seconds: float = 30.0, fps: float = 24.0) -> dict:
    """Concatenate registered footage and a pan over a registered still, at 1280x720."""
    videos = sorted((media / "works" / "videos").glob("*.mp4"))
    still = sorted((media / "works" / "images").glob("*.jpg"))[0]
    parts = []
    with ClipWriter(path, (1280, 720), fps) as writer:
        writer.stream.options = {"preset": "veryfast", "crf": "23"}
        for video in videos:
            budget = seconds - 10.0 - writer.frames / fps
            if budget <= 0.5:
                break
            count = 0
            for _, rgb in read_frames(video, 0.0, min(budget, 12.0)):
                writer.write(rgb)
                count += 1
            parts.append(f"{video.name} {count / fps:.1f} s")
        remaining = seconds - writer.frames / fps
        frames, _ = pan_frames(_load_still(still), remaining, fps, np.random.default_rng(0))
        for rgb in frames:
            writer.write(rgb)
        parts.append(f"pan over {still.name} {len(frames) / fps:.1f} s")
        total = writer.frames / fps
    return {"seconds": round(total, 2), "parts": parts}


def decode_and_sample(path: Path, sampling: SamplingConfig) -> int:
    """What any scan pays at least: decode every frame, RGB-convert the 1 fps samples."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = _output_size(stream.codec_context.width, stream.codec_context.height, sampling.max_side)
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        next_due, kept = 0.0, 0
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) - start
            if t + 1e-6 >= next_due:
                frame.to_ndarray(format="rgb24", width=width, height=height)
                next_due = (int(t * sampling.fps) + 1) / sampling.fps
                kept += 1
    return kept


def register_works(runtime, media: Path) -> None:
    for path in sorted((media / "works" / "images").iterdir()) + sorted((media / "works" / "videos").iterdir()):
        runtime.registrar.register(path, "bench")


def add_synthetic_frames(store: Store, frames: int, media: Path, seed: int = 0) -> int:
    """Video works of 100 frames each: a ``full`` row (random PDQ/pHash, a JPEG cut from an
    unrelated picture) and a ``flip`` row per frame, as registration stores them."""
    rng = np.random.default_rng(seed)
    pictures = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((media / "others").iterdir()) if p.suffix in (".jpg", ".png")]
    added = 0
    work = 0
    while added < frames:
        count = min(FRAMES_PER_SYNTHETIC_WORK, frames - added)
        records = []
        for position in range(count):
            picture = pictures[int(rng.integers(len(pictures)))]
            h, w = picture.shape[:2]
            ch, cw = int(h * rng.uniform(0.4, 0.9)), int(w * rng.uniform(0.4, 0.9))
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            jpeg, size = jpeg_thumbnail(np.ascontiguousarray(picture[y : y + ch, x : x + cw]))
            columns = {"pdq": rng.bytes(32), "pdq_quality": 100, "phash": rng.bytes(8)}
            records.append(FrameRecord(position, float(position), "full", columns, jpeg, size))
            records.append(FrameRecord(position, float(position), "flip", {"pdq": rng.bytes(32), "pdq_quality": 100, "phash": rng.bytes(8)}))
        content = f"synthetic-{seed}-{work}".encode()
        store.add_work(
            NewWork(
                holder="synthetic",
                title=f"synthetic {work}",
                kind="video",
                sha256=hashlib.sha256(content).hexdigest(),
                size_bytes=len(content),
                media_format="mp4",
                duration=float(count),
                width=1280,
                height=720,
            ),
            records,
        )
        added += count
        work += 1
    return added


def open_runtime(home: Path):
    from provenance.runtime import Runtime

    settings = replace(
        Settings.from_env(),
        home=home,
        database_url=f"sqlite:///{home / 'store.db'}",
        clip_enabled=False,
        signals=("pdq", "phash"),
        index_backend="faiss",
    )
    return Runtime.open(settings, with_provenance=False), settings


def full_frames(store: Store) -> int:
    from sqlalchemy import func, select

    from reference_db.models import ReferenceFrame

    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(ReferenceFrame).where(ReferenceFrame.variant == "full")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media", type=Path, default=MEDIA)
    parser.add_argument("--frames", type=int, default=10_000, help="registered frames of the large store")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument("--docs", type=Path, help="update the 'Scan cost' section of this markdown file")
    parser.add_argument("--render", type=Path, help="only re-render --docs from a JSON written by --out (with its command)")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(args.render.read_text())
        update_docs(args.docs, saved, saved.get("command", "python scripts/bench_scan.py"))
        return

    root = Path(tempfile.mkdtemp(prefix="provenance-scan-bench-"))
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    try:
        clip = root / "clip.mp4"
        clip_info = make_clip(clip, args.media)
        small, settings = open_runtime(root / "small")
        register_works(small, args.media)
        large, _ = open_runtime(root / "large")
        register_works(large, args.media)
        real_frames = full_frames(large.store)
        add_synthetic_frames(large.store, max(0, args.frames - real_frames), args.media)
        sizes = {"works": full_frames(small.store), "10k": full_frames(large.store)}
        t0 = time.perf_counter()
        small.warm()
        large.warm()
        warm_seconds = time.perf_counter() - t0
        runtimes = {"works": small, "10k": large}
        results = {name: runtime.scanner.scan_file(clip, top=5) for name, runtime in runtimes.items()}  # warm-up
        times: dict[str, list[float]] = {"decode": [], "works": [], "10k": []}
        stages: dict[str, list[dict]] = {"works": [], "10k": []}
        for _ in range(args.repeats):
            t = time.perf_counter()
            decode_and_sample(clip, settings.sampling)
            times["decode"].append(time.perf_counter() - t)
            for name, runtime in runtimes.items():
                t = time.perf_counter()
                results[name] = runtime.scanner.scan_file(clip, top=5)
                times[name].append(time.perf_counter() - t)
                stages[name].append(results[name].timings)
        median = {name: statistics.median(values) for name, values in times.items()}
        summary = {
            "clip": clip_info,
            "store_frames": sizes,
            "median_seconds": {k: round(v, 3) for k, v in median.items()},
            "ratio_works": round(median["works"] / median["decode"], 2),
            "ratio_10k": round(median["10k"] / median["decode"], 2),
            "stages_median": {
                name: {key: round(statistics.median(t[key] for t in values), 3) for key in values[0]} for name, values in stages.items()
            },
            "frames_sampled": results["works"].frames_sampled,
            "top_match": {name: (r.matches[0].title, r.matches[0].verdict, r.matches[0].score) if r.matches else None for name, r in results.items()},
            "repeats": args.repeats,
            "warm_seconds": round(warm_seconds, 1),
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pyav": av.__version__,
            "runtime_seconds": round(time.perf_counter() - started, 1),
            "command": " ".join(["python", "scripts/bench_scan.py"] + sys.argv[1:]),
        }
        print(json.dumps(summary, indent=2))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(summary, indent=2))
        if args.docs:
            update_docs(args.docs, summary, summary["command"])
        for runtime in runtimes.values():
            runtime.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def update_docs(path: Path, s: dict, command: str) -> None:
    m = s["median_seconds"]
    st = s["stages_median"]
    met = [name for name, ok in (("issue 2", s["ratio_works"] < 1.5), ("issue 3", s["ratio_10k"] < 3.0)) if ok]
    missed = [name for name, ok in (("issue 2", s["ratio_works"] < 1.5), ("issue 3", s["ratio_10k"] < 3.0)) if not ok]
    verdict = ("met: " + ", ".join(met) if met else "") + ("; " if met and missed else "") + ("not met: " + ", ".join(missed) if missed else "")
    section = f"""{DOCS_START}
## Scan cost

Command: `{command}` ({s['runtime_seconds']} s on {s['cpus']} cores, Python {s['python']}, PyAV {s['pyav']}; 1-minute load average {s['load_average'][0]} at the start, {s['load_average'][1]} at the end — the host is shared, so only the ratios, measured in one run on the same clip, are meaningful).

Clip: {s['clip']['seconds']} s, 1280x720, H.264 (x264 veryfast, CRF 23), 24 fps: {', '.join(s['clip']['parts'])}; {s['frames_sampled']} frames sampled (1 fps + scene cuts). Scans use PDQ + pHash with CLIP disabled, local-feature retrieval, geometric verification and dense view search on. Median of {s['repeats']} interleaved runs after a warm-up scan.

| measurement | store (full frames) | median s | vs decode-and-sample |
|---|---:|---:|---:|
| PyAV decode every frame + RGB of the 1 fps samples | – | {m['decode']:.2f} | 1.00x |
| full scan (`scanner.scan_file`), shared works | {s['store_frames']['works']:,} | {m['works']:.2f} | **{s['ratio_works']:.2f}x** |
| full scan (`scanner.scan_file`), 10k-frame store | {s['store_frames']['10k']:,} | {m['10k']:.2f} | **{s['ratio_10k']:.2f}x** |

Where a scan's time goes (medians, s; `ScanResult.timings`):

| store | intake (decode + sample) | fingerprint (PDQ + pHash) | match (retrieve, verify, align) | total |
|---|---:|---:|---:|---:|
| shared works | {st['works']['decode']:.2f} | {st['works']['fingerprint']:.2f} | {st['works']['match']:.2f} | {st['works']['total']:.2f} |
| 10k frames | {st['10k']['decode']:.2f} | {st['10k']['fingerprint']:.2f} | {st['10k']['match']:.2f} | {st['10k']['total']:.2f} |

- Targets: < 1.5x on the small store (issue 2), < 3x at 10,000 frames (issue 3): {verdict}. Relative to decode-and-sample, the small-store scan spends {st['works']['decode'] / m['decode']:.2f}x in intake, {st['works']['fingerprint'] / m['decode']:.2f}x hashing the sampled frames and {st['works']['match'] / m['decode']:.2f}x matching — most of it the ORB features, keypoint votes and geometric verification that find crops, screenshots and pans (on this clip, the 10 s pan over a still), which hashes alone miss.
- Growing the store from {s['store_frames']['works']} to {s['store_frames']['10k']:,} frames adds {st['10k']['match'] - st['works']['match']:+.2f} s of matching: hash search is exact but cheap, the keypoint index switches from exact to inverted-file search above 60k descriptors (about 200 frames), and geometric verification only ever runs on a short list.
- The 10k store is the shared works plus synthetic 100-frame video works: random PDQ/pHash per frame (with a mirrored variant row, as registration stores) and a JPEG thumbnail cut from an unrelated picture per frame, so the ORB keypoint index also holds every frame. Loading the indexes (ORB features of every stored JPEG) took {s['warm_seconds']} s for both stores together, outside the timed scans (`Runtime.warm()` at service start).
- Top match of the clip: {s['top_match']}.
{DOCS_END}"""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if DOCS_START in text:
        text = re.sub(re.escape(DOCS_START) + ".*?" + re.escape(DOCS_END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

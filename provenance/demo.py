"""`make demo`: register sample works, fake an infringing clip, scan it, write the report.

The works are scikit-image's bundled CC0/public-domain photos. The "infringing" clip
is a slow pan over a crop of one of them, re-encoded at a low bitrate: the kind of
derivative a reviewer has to catch. The demo drives the real CLI, so every step it
prints is a command a user can run.
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
from PIL import Image

SAMPLE_WORKS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field")  # skimage.data images; titles = names
COPIED = "coffee"


def export_works(folder: Path) -> list[Path]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SAMPLE_WORKS:
        path = folder / f"{name}.png"
        if not path.exists():
            Image.fromarray(getattr(data, name)()).convert("RGB").save(path)
        paths.append(path)
    return paths


def make_copied_clip(work: Path, path: Path, seconds: int = 6, fps: int = 24) -> Path:
    """A 640x360 H.264 clip panning across an 80% crop of ``work``, at a low bitrate."""
    image = np.asarray(Image.open(work).convert("RGB").resize((800, 600)))
    crop_h, crop_w = 480, 640
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"crf": "32", "preset": "veryfast"}
        for i in range(seconds * fps):
            x = int((image.shape[1] - crop_w) * i / (seconds * fps - 1))
            window = image[60 : 60 + crop_h, x : x + crop_w]
            frame = np.asarray(Image.fromarray(window).resize((640, 360)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def run(args: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "provenance", *args]
    print("$ provenance " + " ".join(shlex.quote(a) for a in args), flush=True)
    return subprocess.run(command, check=True, capture_output="--json" in args, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-output"))
    out = parser.parse_args().out.resolve()
    home = out / "store"
    works = export_works(out / "works")
    clip = make_copied_clip(out / "works" / f"{COPIED}.png", out / "uploads" / "suspicious-clip.mp4")
    common = ["--home", str(home)]
    run([*common, "doctor"])
    run([*common, "works", "add", str(out / "works"), "--holder", "Demo Studio", "--opt-out"])
    report = out / "report.html"
    scan = run([*common, "scan", str(clip), "--json", "--report", str(report)])
    result = json.loads(scan.stdout)["scans"][0]
    top = result["matches"][0] if result["matches"] else None
    print()
    print(f"Verdict for {clip.name}: {result['verdict'].upper()}")
    if top:
        segments = ", ".join(f"{s['query_start']:.1f}-{s['query_end']:.1f} s" for s in top["segments"]) or "-"
        print(f"  copies '{top['title']}' ({top['holder']}), score {top['score']:.3f}, segments {segments}")
    print(f"  readable report: {report}")
    if result["verdict"] != "match" or not top or top["title"] != COPIED:
        sys.exit("demo failed: the copied clip was not matched to its source")


if __name__ == "__main__":
    main()

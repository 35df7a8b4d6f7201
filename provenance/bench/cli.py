"""Terminal side of ``provenance bench``: progress on stderr, tables on stdout."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from provenance.bench.report import SYSTEMS, family_rows, summary_rows, verdict_rows
from provenance.bench.runner import BenchOptions, run_bench, write_outputs

STAGES = {"register": "Registering references", "queries": "Making queries", "scan": "Scanning queries"}


def run_command(references: Path, negatives: Path | None, out: Path, seed: int, per_transform: int, videos: bool, quick: bool, jobs: int, keep: bool, err: Console, still_pans: int = 6) -> dict:
    options = BenchOptions(references, negatives, out, seed, per_transform, videos, quick, jobs, keep=keep, still_pans=still_pans)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[detail]}", style="dim"), console=err)
    tasks: dict[str, int] = {}
    printed: dict[str, int] = {}

    def update(stage: str, done: int, total: int, detail: str) -> None:
        if not err.is_terminal:  # no live bar in a log: a line per tenth of each stage
            step = max(1, total // 10)
            if done == total or done // step != printed.get(stage, -1):
                printed[stage] = done // step
                err.print(f"{STAGES.get(stage, stage)}: {done}/{total} {detail[:40]}")
        if stage not in tasks:
            tasks[stage] = progress.add_task(STAGES.get(stage, stage), total=total, detail="")
        progress.update(tasks[stage], completed=done, total=max(total, done), detail=detail[:40])

    with progress:
        results = run_bench(options, update)
    command = "provenance " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv and "bench" in sys.argv else "provenance bench"
    paths = write_outputs(results, out, command)
    console = Console()
    systems = [label for _, label in SYSTEMS]
    table = Table("images", *systems, title="Accuracy (same queries for every system)")
    for row in summary_rows(results):
        table.add_row(*row)
    console.print(table)
    table = Table("family", "queries", *systems, title="Recall at precision ≥ 0.99, per transform family")
    for row in family_rows(results):
        table.add_row(*row)
    console.print(table)
    table = Table("operating point (verdicts) and video", "value")
    for row in verdict_rows(results):
        table.add_row(*row)
    console.print(table)
    if results.get("errors"):
        err.print(f"[yellow]{len(results['errors'])} queries failed to scan[/yellow]")
    err.print(f"results: {paths['json']}, {paths['markdown']}, {paths['chart']}  ({results['timing_seconds']['total']} s)")
    return results

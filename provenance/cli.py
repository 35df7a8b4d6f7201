"""The ``provenance`` command line: register works, scan media, check the installation.

Machine-readable output (``--json``) goes to stdout; progress bars and messages go to
stderr, so ``provenance scan --json DIR > out.json`` stays clean.
"""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from provenance.errors import ProvenanceError
from provenance.media.sniff import MEDIA_EXTENSIONS
from provenance.settings import Settings

if TYPE_CHECKING:
    from provenance.report.schema import ScanError

err = Console(stderr=True)
T = TypeVar("T")


class Context:
    """Settings from the environment and global options; the runtime opens on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._runtime = None

    @property
    def runtime(self):
        if self._runtime is None:
            from provenance.runtime import Runtime

            self._runtime = Runtime.open(self.settings)
        return self._runtime


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
        console=err,  # stderr: stdout stays clean for --json
    )


def expand_paths(paths: Iterable[str]) -> list[Path]:
    """Files as given, plus every media file under each folder (sorted, recursive)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS))
        else:
            files.append(path)
    return files


def for_each_file(files: list[Path], label: str, action: Callable[[Path], T]) -> tuple[list[T], list["ScanError"]]:
    """Run ``action`` on every file with a progress bar; a file that fails with a
    ``ProvenanceError`` is listed as an error (nothing was stored for it) and the rest go on."""
    from provenance.report.schema import ScanError

    results: list[T] = []
    errors: list[ScanError] = []
    with _progress() as progress:
        task = progress.add_task(label, total=len(files), current="")
        for path in files:
            progress.update(task, current=path.name)
            try:
                results.append(action(path))
            except ProvenanceError as exc:
                errors.append(ScanError(str(path), str(exc), getattr(exc, "code", "error")))
            progress.advance(task)
    return results, errors


def _emit_json(data: dict) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), help="Data folder (default: $PROVENANCE_HOME or ./provenance-data).")
@click.option("--database-url", help="SQLAlchemy URL of the store (default: $PROVENANCE_DATABASE_URL or SQLite in the home folder).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, database_url: str | None, verbose: int) -> None:
    """Provenance: register rights holders' works and check images and video clips against them."""
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)], format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Context(Settings.from_env().with_overrides(home=home, database_url=database_url))


@cli.group()
def works() -> None:
    """Register, list and remove rights holders' works."""


@works.command("add")
@click.argument("paths", nargs=-1, required=True)
@click.option("--holder", required=True, help="Rights holder who owns the works (created if new).")
@click.option("--title", help="Title (default: the file name). Only for a single file.")
@click.option("--opt-out", "opt_out", is_flag=True, help="Opt out of both training and generation (do not train, do not reproduce).")
@click.option("--opt-out-train", is_flag=True, help="Opt out of use as AI training data only.")
@click.option("--opt-out-generate", is_flag=True, help="Opt out of reproduction by generators only.")
@click.option("--json", "as_json", is_flag=True, help="Print the registered works as JSON.")
@click.pass_obj
def works_add(obj: Context, paths, holder, title, opt_out, opt_out_train, opt_out_generate, as_json) -> None:
    """Register image and video files; a folder adds every media file under it."""
    files = expand_paths(paths)
    if title and len(files) != 1:
        raise click.UsageError("--title applies to a single file")
    registrar = obj.runtime.registrar
    registered, failures = for_each_file(
        files, "Registering", lambda path: registrar.register(path, holder, title, opt_out or opt_out_train, opt_out or opt_out_generate)
    )
    for failure in failures:
        err.print(f"[red]skipped[/red] {failure.path}: {failure.error}")
    if as_json:
        _emit_json({"works": [r.to_dict() for r in registered], "errors": [f.to_dict() for f in failures]})
    else:
        for r in registered:
            state = "added" if r.created else "already registered"
            click.echo(f"#{r.work.id}\t{r.work.kind}\t{r.frames} frames\t{state}\t{r.work.title}")
    if failures and not registered:
        sys.exit(1)


@works.command("list")
@click.option("--holder", help="Only this rights holder's works.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def works_list(obj: Context, holder: str | None, as_json: bool) -> None:
    """List registered works."""
    store = obj.runtime.store
    items = store.list_works(holder=holder)
    counts = store.frame_counts([w.id for w in items]) if items else {}
    rows = [
        {
            "id": w.id, "title": w.title, "holder": w.holder.name, "kind": w.kind, "frames": counts.get(w.id, 0),
            "duration": w.duration, "width": w.width, "height": w.height, "sha256": w.sha256,
            "opt_out": {"train": w.opt_out_train, "generate": w.opt_out_generate}, "created_at": w.created_at.isoformat(),
        }
        for w in items
    ]
    if as_json:
        _emit_json({"works": rows})
        return
    table = Table("id", "title", "holder", "kind", "frames", "opt-out")
    for row in rows:
        opt = ",".join(k for k, v in row["opt_out"].items() if v) or "-"
        table.add_row(str(row["id"]), row["title"], row["holder"], row["kind"], str(row["frames"]), opt)
    Console().print(table)


@works.command("remove")
@click.argument("work_id", type=int)
@click.pass_obj
def works_remove(obj: Context, work_id: int) -> None:
    """Remove a work and its fingerprints from the store and every index."""
    obj.runtime.store.remove_work(work_id)
    click.echo(f"removed work #{work_id}")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"scans": [...]} as JSON.')
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path), help="Write a report: FILE.html (readable, with evidence) or FILE.json.")
@click.option("--top", default=5, show_default=True, help="How many candidate works to list per file, weaker ones included.")
@click.pass_obj
def scan(obj: Context, paths, as_json: bool, report: Path | None, top: int) -> None:
    """Scan images and videos (folders recursively) against the registered works."""
    from provenance.report.html import write_html

    runtime = obj.runtime
    results, errors = for_each_file(
        expand_paths(paths), "Scanning", lambda path: runtime.scanner.scan_file(path, top=top, display_path=str(path))
    )
    payload = {"scans": [r.to_dict() for r in results], "errors": [e.to_dict() for e in errors]}
    if report is not None:
        if report.suffix.lower() == ".json":
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        else:
            write_html(report, results, errors, runtime.store)
        err.print(f"report written to {report}")
    if as_json:
        _emit_json(payload)
    else:
        for result in results:
            top_match = result.matches[0] if result.matches else None
            detail = f"{top_match.title} ({top_match.holder}) score {top_match.score:.3f}" if top_match else ""
            click.echo(f"{result.verdict.upper():9}\t{result.path}\t{detail}")
        for error in errors:
            click.echo(f"ERROR    \t{error.path}\t{error.error}")
    if errors and not results:
        sys.exit(1)


@cli.group()
def logos() -> None:
    """Register visible watermark / logo templates that scans look for."""


@logos.command("add")
@click.argument("name")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def logos_add(obj: Context, name: str, image: Path) -> None:
    """Register IMAGE (a PNG; transparency marks what is not logo) under NAME."""
    from reference_db.logos import LogoError, add_logo

    try:
        with obj.runtime.store.session() as session:
            logo = add_logo(session, name, image.read_bytes())
            click.echo(f"added logo {logo.name!r} ({logo.width}x{logo.height})")
    except LogoError as exc:
        raise click.ClickException(str(exc)) from exc


@logos.command("list")
@click.pass_obj
def logos_list(obj: Context) -> None:
    """List registered logo templates."""
    from reference_db.logos import list_logos

    with obj.runtime.store.session() as session:
        for logo in list_logos(session):
            click.echo(f"{logo.name}\t{logo.width}x{logo.height}\t{logo.created_at:%Y-%m-%d}")


@logos.command("remove")
@click.argument("name")
@click.pass_obj
def logos_remove(obj: Context, name: str) -> None:
    """Remove the logo template NAME."""
    from reference_db.logos import LogoError, remove_logo

    try:
        with obj.runtime.store.session() as session:
            remove_logo(session, name)
    except LogoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"removed logo {name!r}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def doctor(obj: Context, as_json: bool) -> None:
    """Show versions, the compute device, which signals are available, and the store's size."""
    from provenance.doctor import diagnose

    report = diagnose(obj.settings)
    if as_json:
        _emit_json(report)
        return
    for section, values in report.items():
        click.echo(f"[{section}]")
        for key, value in values.items():
            click.echo(f"  {key}: {value}")


# the HTTP service's commands (keys, serve, worker) live in their own module
from provenance.cli_service import register as _register_service_commands  # noqa: E402

_register_service_commands(cli)


@cli.command()
@click.argument("references_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--negatives", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Unregistered media: a share becomes distractor works, the rest negative queries and compilation filler.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"), show_default=True, help="Folder for bench.json, bench.md and bench.png.")
@click.option("--seed", default=0, show_default=True, help="Seed of every generated query.")
@click.option("--queries-per-transform", default=1, show_default=True, help="Copies per reference and transform.")
@click.option("--videos/--no-videos", default=True, show_default=True, help="Also benchmark video queries.")
@click.option("--still-pans", default=6, show_default=True, help="Clips panning over registered stills (each over a different still, chosen by the seed).")
@click.option("--quick", is_flag=True, help="A small subset (a few references, transforms and clips), for smoke tests.")
@click.option("--jobs", default=0, help="Scanning processes (default: one per CPU, at most 4).")
@click.option("--keep", is_flag=True, help="Keep the temporary store and queries.")
def bench(references_dir: Path, negatives: Path | None, out: Path, seed: int, queries_per_transform: int, videos: bool, still_pans: int, quick: bool, jobs: int, keep: bool) -> None:
    """Measure matching accuracy on your own media: register REFERENCES_DIR in a temporary
    store, scan seeded transformed copies (and NEGATIVES), report against PDQ/pHash."""
    from provenance.bench.cli import run_command

    run_command(references_dir, negatives, out, seed, queries_per_transform, videos, quick, jobs, keep, err, still_pans=still_pans)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ProvenanceError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()

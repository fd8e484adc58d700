"""``flask --app webapp`` commands for the drawing store: export it for training, copy a round-1 store in."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from webapp.store import STATUSES, get_store
from webapp.store.transfer import export_drawings, import_round1
from webapp.validation import strokes_bitmap


@click.command("export-drawings")
@with_appcontext
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write simplified/<label>.ndjson and numpy_bitmap/<label>.npy into.")
@click.option("--status", type=click.Choice([*STATUSES, "all"]), default="approved", show_default=True,
              help="Which drawings: approved ones are the only ones fit for training.")
def export_drawings_command(out_dir: Path, status: str) -> None:
    """Export stored drawings in Quick Draw's layout, for `python -m training build --extra-source`."""
    result = export_drawings(get_store(), out_dir, None if status == "all" else status)
    for label, count in sorted(result["exported"].items()):
        click.echo(f"{label}: {count}")
    total = sum(result["exported"].values())
    click.echo(f"Exported {total} {status} drawings to {out_dir}; skipped {result['skipped']} unreadable")


@click.command("migrate-store")
@with_appcontext
@click.option("--from", "source", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The round-1 SQLite file (e.g. instance/doodles.sqlite3, moved aside).")
@click.option("--drawings-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Its drawings folder (default: 'drawings' beside the file).")
def migrate_store_command(source: Path, drawings_dir: Path | None) -> None:
    """Copy a round-1 store (SQLite rows + drawing files) into the configured store; safe to run again."""
    store = get_store()
    drawings_dir = drawings_dir or source.parent / "drawings"
    report = import_round1(store, source, drawings_dir, render=strokes_bitmap)
    for problem in report.unreadable:
        click.echo(f"not copied, files unreadable: drawing {problem}", err=True)
    click.echo(f"Copied {report.copied} drawings into {store.description}; {report.already_there} were already "
               f"there; {len(report.unreadable)} unreadable (left in {source})")
    if report.unreadable:
        sys.exit(1)  # Say so in the exit status too: a script must not delete the old store now.


def init_app(app: Flask) -> None:
    """Add the store's commands to ``flask``."""
    app.cli.add_command(export_drawings_command)
    app.cli.add_command(migrate_store_command)

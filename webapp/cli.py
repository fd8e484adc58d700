"""``flask --app webapp`` commands for the drawing store: export it for training, sweep orphans."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp.db import get_db
from webapp.store import export_drawings, sweep_orphans


@click.command("export-drawings")
@with_appcontext
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write simplified/<label>.ndjson and numpy_bitmap/<label>.npy into.")
def export_drawings_command(out_dir: Path) -> None:
    """Export stored drawings in Quick Draw's layout, for `python -m training build --extra-source`."""
    result = export_drawings(get_db(), Path(current_app.config["DRAWINGS_DIR"]), out_dir)
    for label, count in sorted(result["exported"].items()):
        click.echo(f"{label}: {count}")
    total = sum(result["exported"].values())
    click.echo(f"Exported {total} drawings to {out_dir}; skipped {result['skipped']} with missing or unreadable files")


@click.command("sweep-drawings")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="List the files that would be deleted, delete nothing.")
@click.option("--min-age", "min_age_seconds", type=float, default=None,
              help="Leave temporary files younger than this many seconds (default: SWEEP_MIN_AGE_SECONDS).")
def sweep_drawings_command(dry_run: bool, min_age_seconds: float | None) -> None:
    """Delete drawing files that no stored contribution points to (left by crashed requests)."""
    if min_age_seconds is None:
        min_age_seconds = float(current_app.config["SWEEP_MIN_AGE_SECONDS"])
    removed = sweep_orphans(get_db(), Path(current_app.config["DRAWINGS_DIR"]), min_age_seconds, dry_run)
    for path in removed:
        click.echo(str(path))
    click.echo(f"{'Would delete' if dry_run else 'Deleted'} {len(removed)} orphaned files")


def init_app(app: Flask) -> None:
    """Add the store's commands to ``flask``."""
    app.cli.add_command(export_drawings_command)
    app.cli.add_command(sweep_drawings_command)

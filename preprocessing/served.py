"""The served model folder (MODEL_DIR): model sets, their immutable versions, and which one is current.

Layout (docs/export.md)::

    served/<set>/CURRENT            one line: the current version; replaced atomically
    served/<set>/HISTORY            versions made current, oldest first (what rollback returns to)
    served/<set>/<version>/         model.json, weight shards, metadata.json, model.keras

The exporter writes it, ``python -m export promote|rollback|list`` switches it, and the web
app only reads it, so this module imports nothing heavy and nothing from training/ or export/.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from preprocessing.categories import DEFAULT_SET

CURRENT_FILE = "CURRENT"
HISTORY_FILE = "HISTORY"
# Versions are content hashes; anything that could climb out of the set's folder is refused.
_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


class ServedError(ValueError):
    """The served folder has no such set or version, or its CURRENT file is unusable."""


def check_set_name(name: str) -> str:
    """Return ``name`` if it can name a model set (a folder name); else raise ServedError."""
    if not isinstance(name, str) or not _VERSION_PATTERN.match(name) or "." in name:
        raise ServedError(f"not a model set name: {name!r}")
    return name


def check_version_name(version: str) -> str:
    """Return ``version`` if it is a safe version folder name; else raise ServedError."""
    if not isinstance(version, str) or not _VERSION_PATTERN.match(version) or version in {".", ".."}:
        raise ServedError(f"not a model version name: {version!r}")
    return version


def set_dir(root: Path, set_name: str) -> Path:
    """The folder of a model set under ``root``; raise ServedError for a name that is not a set."""
    return Path(root) / check_set_name(set_name)


def version_dir(root: Path, set_name: str, version: str) -> Path:
    """The folder of one version of a set (which may not exist)."""
    return set_dir(root, set_name) / check_version_name(version)


def list_sets(root: Path, default: str = DEFAULT_SET) -> list[str]:
    """The sets under ``root`` that have a CURRENT version, the default first, then by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    names = sorted(path.name for path in root.iterdir() if (path / CURRENT_FILE).is_file())
    return sorted(names, key=lambda name: name != default)


def read_current(root: Path, set_name: str) -> str:
    """The set's current version name, from its CURRENT file; raise ServedError if there is none."""
    path = set_dir(root, set_name) / CURRENT_FILE
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise ServedError(f"no model set {set_name!r} in {root} (no {path}): run `make export`") from None
    return check_version_name(text)


def list_versions(root: Path, set_name: str) -> list[str]:
    """Every version folder of a set, oldest first (by modification time, then name)."""
    folder = set_dir(root, set_name)
    if not folder.is_dir():
        return []
    found = [path for path in folder.iterdir() if path.is_dir() and _VERSION_PATTERN.match(path.name)]
    return [path.name for path in sorted(found, key=lambda path: (path.stat().st_mtime_ns, path.name))]


def read_history(root: Path, set_name: str) -> list[str]:
    """Versions made current, oldest first; a set without HISTORY has its current version only."""
    path = set_dir(root, set_name) / HISTORY_FILE
    if path.is_file():
        return [check_version_name(line.strip()) for line in path.read_text().splitlines() if line.strip()]
    try:
        return [read_current(root, set_name)]
    except ServedError:
        return []


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old or the new file, never a partial one."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the file from a server run as another user.
        with os.fdopen(descriptor, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # The rename itself survives a crash only once the folder is synced.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def promote(root: Path, set_name: str, version: str) -> str:
    """Make an existing version current (CURRENT replaced atomically) and record it in HISTORY."""
    folder = version_dir(root, set_name, version)
    if not folder.is_dir():
        raise ServedError(f"no version {version!r} of set {set_name!r} in {root}")
    history = read_history(root, set_name)
    if not history or history[-1] != version:
        history.append(version)
    _write_atomically(set_dir(root, set_name) / HISTORY_FILE, "\n".join(history) + "\n")
    _write_atomically(set_dir(root, set_name) / CURRENT_FILE, version + "\n")
    return version


def rollback(root: Path, set_name: str) -> str:
    """Make the version that was current before this one current again; return it."""
    history = read_history(root, set_name)
    current = read_current(root, set_name)
    while history and history[-1] == current:
        history.pop()
    if not history:
        raise ServedError(f"set {set_name!r} has no earlier version to roll back to")
    previous = history[-1]
    if not version_dir(root, set_name, previous).is_dir():
        raise ServedError(f"the previous version {previous!r} of set {set_name!r} is gone from {root}")
    _write_atomically(set_dir(root, set_name) / HISTORY_FILE, "\n".join(history) + "\n")
    _write_atomically(set_dir(root, set_name) / CURRENT_FILE, previous + "\n")
    return previous

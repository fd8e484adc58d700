"""Write the golden vectors that keep ``preprocess.js`` equal to ``preprocessing.strokes``.

Usage (from the repository root)::

    .venv/bin/python tests/golden/generate.py          # rewrite tests/golden/*.json
    .venv/bin/python tests/golden/generate.py --check  # exit 1 if a committed file is stale

Every drawing here is synthetic and deterministic (no Quick Draw data is committed): lines,
circles, spirals, zig-zags, dots, single points, the same drawing on canvases of 100 to
2000 px, long noisy strokes and random scribbles from a fixed seed. Each vector holds the
strokes, the indices of the points each stroke keeps after simplification and the 28x28
bitmap the Python implementation renders, rounded to 4 decimals. ``tests/js/`` and the Chromium
test run the JavaScript twin on the same strokes; ``tests/preprocessing/test_golden.py``
regenerates the files in memory and fails when the committed ones drift from the code.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from preprocessing import spec
from preprocessing.strokes import normalize, parse_strokes, simplify, strokes_to_bitmap

GOLDEN_DIR = Path(__file__).resolve().parent
SEED = 1337
COORDINATE_DECIMALS = 2  # Canvas coordinates are rounded so JSON carries them exactly.
PIXEL_DECIMALS = 4

RawDrawing = list[list[list[float]]]  # [[xs, ys], ...] or [[xs, ys, ts], ...]
UnitStroke = list[tuple[float, float]]  # Points in a unit box, before placement on a canvas.


# --- Shapes in a unit box (x right, y down, as on a canvas) -------------------------------


def _arc(centre: tuple[float, float], radii: tuple[float, float], start: float, stop: float,
         count: int) -> UnitStroke:
    angles = np.linspace(start, stop, count)
    return [
        (centre[0] + radii[0] * math.cos(angle), centre[1] + radii[1] * math.sin(angle))
        for angle in angles
    ]


def _circle(count: int = 64) -> list[UnitStroke]:
    return [_arc((0.5, 0.5), (0.5, 0.5), 0.0, 2 * math.pi, count)]


def _spiral(count: int = 400, turns: float = 4.0) -> list[UnitStroke]:
    angles = np.linspace(0.0, turns * 2 * math.pi, count)
    radii = np.linspace(0.02, 0.5, count)
    return [[(0.5 + r * math.cos(a), 0.5 + r * math.sin(a)) for a, r in zip(angles, radii)]]


def _zigzag(teeth: int = 8) -> list[UnitStroke]:
    return [[(i / (2 * teeth), 0.0 if i % 2 == 0 else 0.4) for i in range(2 * teeth + 1)]]


def _star(points: int = 5) -> list[UnitStroke]:
    corners = [
        (0.5 + (0.5 if i % 2 == 0 else 0.2) * math.sin(i * math.pi / points),
         0.5 - (0.5 if i % 2 == 0 else 0.2) * math.cos(i * math.pi / points))
        for i in range(2 * points + 1)
    ]
    return [corners]


def _house() -> list[UnitStroke]:
    return [
        [(0.1, 0.45), (0.1, 1.0), (0.9, 1.0), (0.9, 0.45)],
        [(0.0, 0.5), (0.5, 0.0), (1.0, 0.5)],
        [(0.4, 1.0), (0.4, 0.7), (0.6, 0.7), (0.6, 1.0)],
    ]


def _bow() -> list[UnitStroke]:
    """Two triangles and a knot: the kind of shape the app is about, drawn by code."""
    return [
        [(0.0, 0.0), (0.45, 0.4), (0.0, 0.8), (0.0, 0.0)],
        [(1.0, 0.0), (0.55, 0.4), (1.0, 0.8), (1.0, 0.0)],
        _arc((0.5, 0.4), (0.07, 0.09), 0.0, 2 * math.pi, 24),
    ]


def _umbrella() -> list[UnitStroke]:
    canopy = _arc((0.5, 0.45), (0.5, 0.45), math.pi, 2 * math.pi, 40)
    scallops = []
    for i in range(4):
        scallops += _arc((0.125 + 0.25 * i, 0.45), (0.125, 0.08), math.pi, 0.0, 12)
    handle = [(0.5, 0.0), (0.5, 0.95)] + _arc((0.43, 0.95), (0.07, 0.05), 0.0, math.pi, 10)
    return [canopy, scallops, handle]


def _dots() -> list[UnitStroke]:
    return [[(x, y)] for x, y in [(0.0, 0.0), (1.0, 0.1), (0.3, 0.6), (0.8, 0.9), (0.5, 0.5)]]


def _random_walk(rng: np.random.Generator, count: int, step: float) -> UnitStroke:
    angles = np.cumsum(rng.normal(0.0, 0.6, count))
    steps = np.stack([np.cos(angles), np.sin(angles)], axis=1) * step
    points = np.cumsum(steps, axis=0)
    return [(float(x), float(y)) for x, y in points]


def _scribble(rng: np.random.Generator) -> list[UnitStroke]:
    return [
        _random_walk(rng, int(rng.integers(2, 80)), float(rng.uniform(0.01, 0.08)))
        for _ in range(int(rng.integers(1, 7)))
    ]


def _place(shape: list[UnitStroke], size: float, origin: tuple[float, float] = (0.0, 0.0),
           fill: float = 0.8) -> RawDrawing:
    """Put a unit-box shape on a ``size``-px canvas at ``origin``, as a person would draw it."""
    margin = size * (1 - fill) / 2
    return [
        [
            [round(origin[0] + margin + x * size * fill, COORDINATE_DECIMALS) for x, _ in stroke],
            [round(origin[1] + margin + y * size * fill, COORDINATE_DECIMALS) for _, y in stroke],
        ]
        for stroke in shape
    ]


# --- The vector sets ----------------------------------------------------------------------


def shape_drawings() -> Iterator[tuple[str, RawDrawing]]:
    """Named shapes and edge cases, on a 500-px canvas unless the case is about the canvas."""
    shapes: dict[str, list[UnitStroke]] = {
        "horizontal-line": [[(0.0, 0.5), (1.0, 0.5)]],
        "vertical-line": [[(0.5, 0.0), (0.5, 1.0)]],
        "diagonal-line": [[(0.0, 0.0), (1.0, 1.0)]],
        "circle": _circle(),
        "wide-ellipse": [_arc((0.5, 0.5), (0.5, 0.15), 0.0, 2 * math.pi, 48)],
        "spiral": _spiral(),
        "zigzag": _zigzag(),
        "star": _star(),
        "house": _house(),
        "bow": _bow(),
        "umbrella": _umbrella(),
        "dots": _dots(),
        "two-point-stroke": [[(0.2, 0.3), (0.7, 0.6)]],
        "repeated-points": [[(0.0, 0.0)] * 3 + [(1.0, 1.0)] * 3 + [(0.0, 1.0)] * 2],
        "closed-loop-stroke": [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]],
    }
    for name, shape in shapes.items():
        yield name, _place(shape, 500.0)
    # Two interior points exactly equally far from a horizontal chord, just above the
    # tolerance: the first must win, after which the second is within tolerance.
    yield "simplification-tie", [[[0, 64, 128, 192, 255], [0, 2.5, 2.4, 2.5, 0]]]
    yield "single-point", [[[123.0], [45.0]]]
    yield "single-point-repeated", [[[7.5] * 5, [7.5] * 5]]
    yield "one-stroke-with-timestamps", [[[10, 200, 390], [20, 300, 40], [0, 16, 33]]]
    yield "empty-strokes-skipped", [[[], []], [[0, 100, 100], [0, 0, 80]], [[], []]]
    yield "negative-fractional", [[[-3.25, -0.5, 2.75, -3.25], [-1.5, 4.125, -0.875, -1.5]]]
    yield "tiny-extent", [[[1.0, 1.0004, 1.0008], [2.0, 2.0006, 2.0]]]
    yield "quick-draw-box", [[[0, 255, 255, 0, 0], [0, 0, 255, 255, 0]]]
    rng = np.random.default_rng(SEED)
    yield "many-points-noisy", _place([_random_walk(rng, 1500, 0.01)], 800.0)
    for index in range(12):
        yield f"scribble-{index:02d}", _place(_scribble(rng), 600.0)


INVARIANCE_CANVASES = [  # (canvas side in px, origin of the drawing area), 100 to 2000 px.
    (100.0, (0.0, 0.0)),
    (256.0, (13.0, 40.0)),
    (640.0, (0.0, 0.0)),
    (1000.0, (-250.0, 120.5)),
    (2000.0, (300.0, 300.0)),
]


def invariance_drawings() -> Iterator[tuple[str, RawDrawing]]:
    """The same drawings at several canvas sizes and positions: all must render alike."""
    for shape_name, shape in [("house", _house()), ("bow", _bow()), ("spiral", _spiral(120, 2.5))]:
        for size, origin in INVARIANCE_CANVASES:
            yield f"{shape_name}@{int(size)}px", _place(shape, size, origin)


VECTOR_SETS: dict[str, Callable[[], Iterator[tuple[str, RawDrawing]]]] = {
    "shapes.json": shape_drawings,
    "invariance.json": invariance_drawings,
}


def kept_indices(points: np.ndarray, kept: np.ndarray) -> list[int]:
    """Indices of the points simplification kept (kept points are exact copies, in order)."""
    indices, next_kept = [], 0
    for index, point in enumerate(points):
        if next_kept < len(kept) and (point == kept[next_kept]).all():
            indices.append(index)
            next_kept += 1
    return indices


def vector(name: str, raw: RawDrawing) -> dict:
    """One golden vector: the strokes in, the points each stroke keeps and the bitmap out."""
    strokes = parse_strokes(raw)
    kept = [kept_indices(stroke, simplify(stroke)) for stroke in normalize(strokes)]
    bitmap = strokes_to_bitmap(strokes).astype(np.float64).ravel()
    return {
        "name": name,
        "strokes": raw,
        "kept_indices": kept,
        # Plain 0 for blank pixels keeps the files small.
        "expected": [round(value, PIXEL_DECIMALS) or 0 for value in bitmap.tolist()],
    }


def build_file(drawings: Callable[[], Iterator[tuple[str, RawDrawing]]]) -> dict:
    """The content of one golden file, spec included so a stale file names its version."""
    return {
        "generator": "tests/golden/generate.py",
        "spec_version": spec.SPEC_VERSION,
        "spec": spec.spec_dict(),
        "pixel_decimals": PIXEL_DECIMALS,
        "vectors": [vector(name, raw) for name, raw in drawings()],
    }


def render_text(content: dict) -> str:
    """Serialise compactly: one vector per line keeps diffs readable and files small."""
    head = {key: value for key, value in content.items() if key != "vectors"}
    lines = [json.dumps(item, separators=(",", ":")) for item in content["vectors"]]
    head_text = json.dumps(head, separators=(",", ":"))[:-1]
    return head_text + ',"vectors":[\n' + ",\n".join(lines) + "\n]}\n"


def expected_files() -> dict[str, str]:
    """File name -> exact text the generator writes, for writing and for the staleness test."""
    return {name: render_text(build_file(drawings)) for name, drawings in VECTOR_SETS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("--out", type=Path, default=GOLDEN_DIR, help="folder for the JSON files")
    arguments = parser.parse_args(argv)
    stale = []
    for name, text in expected_files().items():
        path = arguments.out / name
        if arguments.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        path.write_text(text)
        print(f"wrote {path} ({len(text) // 1024} KiB)")
    if stale:
        print(f"stale golden files: {', '.join(stale)}; run tests/golden/generate.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

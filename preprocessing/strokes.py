"""Strokes to a Quick Draw 28x28 bitmap: validate, normalise, simplify, render.

A drawing is a list of strokes in Quick Draw's format, ``[[x0, x1, ...], [y0, y1, ...]]``
(a third list of timestamps is allowed and ignored), in any coordinate space: canvas
pixels, Quick Draw's 0-255 box, anything. ``webapp/static/js/preprocess.js`` implements the
same steps; golden vectors in ``tests/golden/`` keep the two equal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from preprocessing import spec

Stroke = np.ndarray  # Shape (n_points, 2), float64, columns x and y.


class DrawingError(ValueError):
    """A drawing that cannot be turned into a bitmap; the message is safe to show a user."""


def parse_strokes(
    raw: Any, max_strokes: int | None = None, max_points: int | None = None
) -> list[Stroke]:
    """Check a JSON-like drawing and return its strokes as (n, 2) float arrays.

    Raises ``DrawingError`` with a user-facing message for any malformed input: wrong
    nesting, non-numbers, NaN or infinite coordinates, x and y lists of different lengths,
    too many strokes or points, or a drawing with no point at all.
    """
    if not isinstance(raw, list):
        raise DrawingError("strokes must be a list of strokes")
    if max_strokes is not None and len(raw) > max_strokes:
        raise DrawingError(f"too many strokes: {len(raw)} (at most {max_strokes})")
    strokes: list[Stroke] = []
    total_points = 0
    for index, stroke in enumerate(raw):
        if not isinstance(stroke, list) or len(stroke) not in (2, 3):
            raise DrawingError(f"stroke {index} must be [[x...], [y...]] (optionally [t...])")
        xs, ys = stroke[0], stroke[1]
        if not isinstance(xs, list) or not isinstance(ys, list):
            raise DrawingError(f"stroke {index}: x and y must be lists of numbers")
        if len(xs) != len(ys):
            raise DrawingError(f"stroke {index}: {len(xs)} x values but {len(ys)} y values")
        total_points += len(xs)
        if max_points is not None and total_points > max_points:
            raise DrawingError(f"too many points (at most {max_points})")
        if not xs:
            continue
        for value in (*xs, *ys):
            # bool is an int subclass; true/false as coordinates is a client bug, not a point.
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DrawingError(f"stroke {index}: coordinates must be numbers")
        points = np.array([xs, ys], dtype=np.float64).T
        if not np.isfinite(points).all():
            raise DrawingError(f"stroke {index}: coordinates must be finite numbers")
        strokes.append(points)
    if not strokes:
        raise DrawingError("the drawing is empty")
    return strokes


def normalize(strokes: Sequence[Stroke]) -> list[Stroke]:
    """Align to the top-left and scale uniformly so the longest side spans 0..255."""
    all_points = np.concatenate(strokes)
    low = all_points.min(axis=0)
    extent = float((all_points.max(axis=0) - low).max())
    # A single dot has no extent: keep it a dot rather than dividing by zero.
    scale = spec.MAX_COORDINATE / extent if extent > 0 else 1.0
    return [(stroke - low) * scale for stroke in strokes]


def simplify(points: Stroke, epsilon: float = spec.SIMPLIFY_EPSILON) -> Stroke:
    """Ramer-Douglas-Peucker simplification, iterative so long strokes cannot overflow a stack.

    The first point of maximal distance wins ties, as in the JavaScript twin.
    """
    count = len(points)
    if count < 3:
        return points
    keep = np.zeros(count, dtype=bool)
    keep[0] = keep[-1] = True
    pending = [(0, count - 1)]
    while pending:
        first, last = pending.pop()
        if last - first < 2:
            continue
        start, end = points[first], points[last]
        inner = points[first + 1 : last]
        direction = end - start
        length = math.hypot(direction[0], direction[1])
        if length == 0:
            distances = np.hypot(inner[:, 0] - start[0], inner[:, 1] - start[1])
        else:
            cross = direction[0] * (inner[:, 1] - start[1]) - direction[1] * (inner[:, 0] - start[0])
            distances = np.abs(cross) / length
        farthest = int(np.argmax(distances))
        if distances[farthest] > epsilon:
            split = first + 1 + farthest
            keep[split] = True
            pending.append((first, split))
            pending.append((split, last))
    return points[keep]


def to_pixel_space(strokes: Sequence[Stroke]) -> list[Stroke]:
    """Centre normalised strokes on their bounding box and map them to 28x28 pixel coordinates."""
    extent = np.concatenate(strokes).max(axis=0)
    offset = (spec.SOURCE_SIDE - extent) / 2 + spec.TOTAL_PADDING / 2
    return [(stroke + offset) * spec.PIXEL_SCALE for stroke in strokes]


_PIXEL_CENTRES = (np.indices((spec.IMAGE_SIZE, spec.IMAGE_SIZE))[::-1].reshape(2, -1).T + 0.5)


def stroke_coverage(points: Stroke) -> np.ndarray:
    """Antialiased coverage (784,) of one stroke drawn with the round pen, as a union.

    Coverage of a pixel is ``clamp(radius + 0.5 - distance, 0, 1)`` where ``distance`` is
    from the pixel centre to the nearest segment: exact for straight lines, close to the
    area coverage Cairo computed for Google's bitmaps elsewhere.
    """
    if len(points) == 1:
        starts = ends = points
    else:
        starts, ends = points[:-1], points[1:]
    best = np.full(_PIXEL_CENTRES.shape[0], np.inf)
    reach = spec.PEN_RADIUS_PX + 0.5
    for start, end in zip(starts, ends):
        low = np.minimum(start, end) - reach
        high = np.maximum(start, end) + reach
        # Only pixels near the segment can be inked; skip the rest of the grid.
        near = np.flatnonzero(
            (_PIXEL_CENTRES[:, 0] >= low[0]) & (_PIXEL_CENTRES[:, 0] <= high[0])
            & (_PIXEL_CENTRES[:, 1] >= low[1]) & (_PIXEL_CENTRES[:, 1] <= high[1])
        )
        if near.size == 0:
            continue
        centres = _PIXEL_CENTRES[near]
        direction = end - start
        length_squared = float(direction @ direction)
        if length_squared == 0:
            nearest = np.broadcast_to(start, centres.shape)
        else:
            t = np.clip(((centres - start) @ direction) / length_squared, 0.0, 1.0)
            nearest = start + t[:, None] * direction
        distance = np.hypot(centres[:, 0] - nearest[:, 0], centres[:, 1] - nearest[:, 1])
        best[near] = np.minimum(best[near], distance)
    return np.clip(reach - best, 0.0, 1.0)


def render_pixel_strokes(strokes: Sequence[Stroke]) -> np.ndarray:
    """Draw strokes already in pixel space; strokes are composited one over another."""
    image = np.zeros(spec.IMAGE_SIZE * spec.IMAGE_SIZE)
    for stroke in strokes:
        coverage = stroke_coverage(stroke)
        image = image + coverage * (1.0 - image)
    return image.reshape(spec.IMAGE_SIZE, spec.IMAGE_SIZE).astype(np.float32)


def strokes_to_bitmap(strokes: Sequence[Stroke], simplify_strokes: bool = True) -> np.ndarray:
    """The full strokes path: normalise, simplify, centre, render. Returns (28, 28) in [0, 1]."""
    if not strokes:
        raise DrawingError("the drawing is empty")
    normalized = normalize(strokes)
    if simplify_strokes:
        normalized = [simplify(stroke) for stroke in normalized]
    return render_pixel_strokes(to_pixel_space(normalized))


def drawing_to_bitmap(raw: Any, **limits: int | None) -> np.ndarray:
    """Validate a JSON drawing and render it: the one call the API and the data tools use."""
    return strokes_to_bitmap(parse_strokes(raw, **limits))


def to_uint8(bitmap: np.ndarray) -> np.ndarray:
    """Store a [0, 1] bitmap the way numpy_bitmap rows are stored (uint8, 255 = ink)."""
    return np.clip(np.floor(bitmap * 255.0 + 0.5), 0, 255).astype(np.uint8)

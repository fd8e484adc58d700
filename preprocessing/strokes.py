"""Strokes to a Quick Draw 28x28 bitmap: validate, normalise, simplify, render.

A drawing is a list of strokes in Quick Draw's format, ``[[x0, x1, ...], [y0, y1, ...]]``
(a third list of timestamps is allowed, checked and ignored), in any coordinate space: canvas
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
# The same sentence as preprocess.js's; it names the likely mistake (points as pairs).
TIMESTAMPS_MESSAGE = ("stroke {index}: the third list must be timestamps, one per point and never decreasing"
                      " (send a stroke as [[x...], [y...]], not as [x, y] pairs)")


class DrawingError(ValueError):
    """A drawing that cannot be turned into a bitmap; the message is safe to show a user."""


def _is_timestamp_list(times: Any, count: int) -> bool:
    """Whether a stroke's third list can be Quick Draw's: one time per point, in milliseconds (>= 0), never decreasing.

    The check exists for points sent as ``[x, y]`` pairs: three pairs would otherwise be read
    as x, y and time lists and stored as another drawing. docs/api.md says what stays ambiguous.
    """
    if not isinstance(times, list) or len(times) != count:
        return False
    for time in times:
        if isinstance(time, bool) or not isinstance(time, (int, float)):
            return False
        # Only floats can be NaN or infinite; a huge int is a (strange) time, not an overflow.
        if (isinstance(time, float) and not math.isfinite(time)) or time < 0:
            return False
    return all(earlier <= later for earlier, later in zip(times, times[1:]))


def parse_strokes(
    raw: Any, max_strokes: int | None = None, max_points: int | None = None
) -> list[Stroke]:
    """Check a JSON-like drawing and return its strokes as (n, 2) float arrays.

    Raises ``DrawingError`` with a user-facing message for any malformed input: wrong
    nesting, non-numbers, NaN or infinite coordinates, x and y lists of different lengths,
    a third list that cannot be timestamps, too many strokes or points, or a drawing with no
    point at all. Empty strokes are skipped.
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
        if len(stroke) == 3 and not _is_timestamp_list(stroke[2], len(xs)):
            raise DrawingError(TIMESTAMPS_MESSAGE.format(index=index))
        total_points += len(xs)
        if max_points is not None and total_points > max_points:
            raise DrawingError(f"too many points (at most {max_points})")
        if not xs:
            continue
        for value in (*xs, *ys):
            # bool is an int subclass; true/false as coordinates is a client bug, not a point.
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DrawingError(f"stroke {index}: coordinates must be numbers")
        not_finite = DrawingError(f"stroke {index}: coordinates must be finite numbers")
        try:
            points = np.array([xs, ys], dtype=np.float64).T
        except OverflowError as error:  # A Python int beyond the float range.
            raise not_finite from error
        if not np.isfinite(points).all():
            raise not_finite
        strokes.append(points)
    if not strokes:
        raise DrawingError("the drawing is empty")
    return strokes


def normalize(strokes: Sequence[Stroke]) -> list[Stroke]:
    """Align to the top-left and scale uniformly so the longest side spans 0..255.

    Coordinates are halved first (exact in binary floating point) so that a span between
    huge coordinates cannot overflow to infinity, and the span divides rather than a scale
    multiplies so that a tiny span cannot overflow either: any finite input stays finite.
    """
    halves = [np.asarray(stroke, dtype=np.float64).reshape(-1, 2) / 2 for stroke in strokes]
    all_halves = np.concatenate(halves) if halves else np.zeros((0, 2))
    if len(all_halves) == 0:
        raise DrawingError("the drawing is empty")
    low = all_halves.min(axis=0)
    half_extent = float((all_halves.max(axis=0) - low).max())
    if half_extent == 0:  # A single dot has no extent: keep it a dot at the origin.
        return [half - low for half in halves]
    return [(half - low) / half_extent * spec.MAX_COORDINATE for half in halves]


def simplify(points: Stroke, epsilon: float = spec.SIMPLIFY_EPSILON) -> Stroke:
    """Ramer-Douglas-Peucker simplification, iterative so long strokes cannot overflow a stack.

    The first point of maximal distance wins ties, as in the JavaScript twin; distances use
    ``sqrt`` of a sum of squares (correctly rounded in both languages, unlike ``hypot``).
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
        start_x, start_y = points[first]
        delta_x = points[last, 0] - start_x
        delta_y = points[last, 1] - start_y
        offsets_x = points[first + 1 : last, 0] - start_x
        offsets_y = points[first + 1 : last, 1] - start_y
        length = math.sqrt(delta_x * delta_x + delta_y * delta_y)
        if length == 0:  # A closed chord: distance to its single point.
            distances = np.sqrt(offsets_x * offsets_x + offsets_y * offsets_y)
        else:
            distances = np.abs(delta_x * offsets_y - delta_y * offsets_x) / length
        farthest = int(np.argmax(distances))
        if distances[farthest] > epsilon:
            split = first + 1 + farthest
            keep[split] = True
            pending.append((first, split))
            pending.append((split, last))
    return points[keep]


def to_pixel_space(strokes: Sequence[Stroke]) -> list[Stroke]:
    """Centre normalised strokes in the 256 box and map them to 28x28 pixel coordinates.

    As in Google's renderer the box is [0, max]: normalised strokes start at 0, and
    simplification can only move the minimum by less than its tolerance.
    """
    if sum(len(stroke) for stroke in strokes) == 0:
        raise DrawingError("the drawing is empty")
    extent = np.concatenate(strokes).max(axis=0)
    offset = (spec.SOURCE_SIDE - extent) / 2 + spec.TOTAL_PADDING / 2
    return [(stroke + offset) * spec.PIXEL_SCALE for stroke in strokes]


_PIXEL_CENTRES = (np.indices((spec.IMAGE_SIZE, spec.IMAGE_SIZE))[::-1].reshape(2, -1).T + 0.5)
PEN_REACH = spec.PEN_RADIUS_PX + 0.5  # Distance at which a pixel's coverage falls to 0.
_DISTANCES_PER_CHUNK = 1 << 18  # Bounds memory for strokes with very many segments.


def _segment_distances(centres: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Distance from each pixel centre (rows) to each segment (columns).

    The arithmetic is written out (no matmul, no hypot) in the order ``preprocess.js``
    uses, so both implementations round identically.
    """
    centre_x, centre_y = centres[:, 0:1], centres[:, 1:2]
    start_x, start_y = starts[:, 0], starts[:, 1]
    delta_x, delta_y = ends[:, 0] - start_x, ends[:, 1] - start_y
    length_squared = delta_x * delta_x + delta_y * delta_y
    projection = (centre_x - start_x) * delta_x + (centre_y - start_y) * delta_y
    moving = length_squared > 0
    t = np.zeros_like(projection)
    np.divide(projection, length_squared, out=t, where=moving)
    t = np.clip(t, 0.0, 1.0)
    away_x = centre_x - (start_x + t * delta_x)
    away_y = centre_y - (start_y + t * delta_y)
    return np.sqrt(away_x * away_x + away_y * away_y)


def stroke_coverage(points: Stroke) -> np.ndarray:
    """Antialiased coverage (784,) of one stroke drawn with the round pen, as a union.

    Coverage of a pixel is ``clamp(radius + 0.5 - distance, 0, 1)`` where ``distance`` is
    from the pixel centre to the nearest segment of the stroke (a one-point stroke is a
    zero-length segment): exact for straight edges, close to the area coverage Cairo
    computed for Google's bitmaps.
    """
    best = np.full(_PIXEL_CENTRES.shape[0], np.inf)
    if len(points) == 0:
        return np.zeros_like(best)
    starts, ends = (points, points) if len(points) == 1 else (points[:-1], points[1:])
    chunk = max(1, _DISTANCES_PER_CHUNK // _PIXEL_CENTRES.shape[0])
    for first in range(0, len(starts), chunk):
        chunk_starts, chunk_ends = starts[first : first + chunk], ends[first : first + chunk]
        low = np.minimum(chunk_starts, chunk_ends).min(axis=0) - PEN_REACH
        high = np.maximum(chunk_starts, chunk_ends).max(axis=0) + PEN_REACH
        # Only pixels near the segments can be inked; farther ones stay at coverage 0.
        near = np.flatnonzero(((_PIXEL_CENTRES >= low) & (_PIXEL_CENTRES <= high)).all(axis=1))
        if near.size:
            distances = _segment_distances(_PIXEL_CENTRES[near], chunk_starts, chunk_ends)
            best[near] = np.minimum(best[near], distances.min(axis=1))
    return np.clip(PEN_REACH - best, 0.0, 1.0)


def render_pixel_strokes(strokes: Sequence[Stroke]) -> np.ndarray:
    """Draw strokes already in pixel space; each stroke is composited over the ones before."""
    image = np.zeros(spec.IMAGE_SIZE * spec.IMAGE_SIZE)
    for stroke in strokes:
        coverage = stroke_coverage(stroke)
        image = image + coverage * (1.0 - image)
    return image.reshape(spec.IMAGE_SIZE, spec.IMAGE_SIZE).astype(np.float32)


def strokes_to_bitmap(strokes: Sequence[Stroke], simplify_strokes: bool = True) -> np.ndarray:
    """The full strokes path: normalise, simplify, centre, render. Returns (28, 28) in [0, 1]."""
    if sum(len(stroke) for stroke in strokes) == 0:
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

"""Things people draw to test a recognizer that are not accessories, as strokes a hand would make.

The issue's examples: a house (a square, a roof, a door), a smiley and a scribble. Coordinates
are Quick Draw's (0-255, y down), one ``[xs, ys]`` per stroke, with the small wobble and the
many points of a real pen; a fixed seed keeps every run the same drawing.
"""

from __future__ import annotations

import math

import numpy as np

Stroke = list[list[float]]


def _wobbly(points: list[tuple[float, float]], rng: np.random.Generator, step: float = 6.0,
            wobble: float = 1.2) -> Stroke:
    """Join corner points with a pen's many small moves, each a little off the straight line."""
    xs, ys = [points[0][0]], [points[0][1]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        moves = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
        for move in range(1, moves + 1):
            fraction = move / moves
            xs.append(x0 + (x1 - x0) * fraction + rng.normal(0, wobble))
            ys.append(y0 + (y1 - y0) * fraction + rng.normal(0, wobble))
    return [[round(float(x), 1) for x in xs], [round(float(y), 1) for y in ys]]


def _ellipse(centre: tuple[float, float], radii: tuple[float, float], start: float, end: float,
             points: int) -> list[tuple[float, float]]:
    return [(centre[0] + radii[0] * math.cos(start + (end - start) * i / points),
             centre[1] + radii[1] * math.sin(start + (end - start) * i / points))
            for i in range(points + 1)]


def house() -> list[Stroke]:
    """A square, a roof on it, a door."""
    rng = np.random.default_rng(1)
    return [
        _wobbly([(50, 120), (50, 235), (205, 235), (205, 120), (50, 120)], rng),
        _wobbly([(35, 125), (128, 30), (220, 125)], rng),
        _wobbly([(110, 235), (110, 170), (148, 170), (148, 235)], rng),
    ]


def smiley() -> list[Stroke]:
    """A round face, two eyes, a smile."""
    rng = np.random.default_rng(2)
    return [
        _wobbly(_ellipse((128, 128), (100, 100), 0, 2 * math.pi, 48), rng, step=4),
        _wobbly(_ellipse((92, 100), (9, 12), 0, 2 * math.pi, 10), rng, step=3, wobble=0.5),
        _wobbly(_ellipse((164, 100), (9, 12), 0, 2 * math.pi, 10), rng, step=3, wobble=0.5),
        _wobbly(_ellipse((128, 140), (52, 40), 0.3, math.pi - 0.3, 20), rng, step=4),
    ]


def scribble() -> list[Stroke]:
    """One long stroke going round and round, as a bored hand does."""
    rng = np.random.default_rng(3)
    angles = np.linspace(0, 7 * 2 * math.pi, 90)
    centres = np.linspace(40, 215, 90)
    points = [(float(cx + 38 * math.cos(a)), float(128 + 70 * math.sin(a)))
              for cx, a in zip(centres, angles)]
    return [_wobbly(points, rng, step=8, wobble=2.0)]


NOT_ACCESSORIES = {"house": house, "smiley": smiley, "scribble": scribble}

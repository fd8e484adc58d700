"""Hand-made doodles, as pen strokes, for an honest test of the recognizer: drawings no model here was trained on.

Twenty everyday things people try first (NOT_ACCESSORIES, keyed by Quick Draw category name,
none of them in the wardrobe set) and the six accessories (ACCESSORIES), each drawn three
genuinely different ways: proportions, stroke order, level of detail. The issue's examples (a
house, a smiley, a scribble) are the first way of their categories. Coordinates are Quick
Draw's (0-255, y down), one ``[xs, ys]`` per stroke, with the small wobble and the many points
of a real pen; a fixed seed per drawing keeps every run the same drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

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


# ---- Helpers for the drawings below: shapes as points, drawn with _wobbly ----

Points = list[tuple[float, float]]
Drawing = Callable[[], list[Stroke]]


def _pen(seed: int, *shapes: Points) -> list[Stroke]:
    """Draw each shape as one stroke, the pen's step and wobble scaled to the shape's size."""
    rng = np.random.default_rng(seed)
    strokes = []
    for shape in shapes:
        xs, ys = [x for x, _ in shape], [y for _, y in shape]
        size = max(max(xs) - min(xs), max(ys) - min(ys))
        # A small dot or dash gets small moves and a steady hand, as a real one does.
        strokes.append(_wobbly(shape, rng, step=min(6.0, max(2.5, size / 10)), wobble=min(1.2, max(0.4, size / 60))))
    return strokes


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Points:
    """An arc of an ellipse from ``start`` to ``end`` degrees (0 is right, 90 is down, as y points down)."""
    span = math.radians(end - start)
    return _ellipse((cx, cy), (rx, ry), math.radians(start), math.radians(end), max(6, int(abs(span) * max(rx, ry) / 5)))


def _ring(cx: float, cy: float, rx: float, ry: float | None = None, start: float = -90) -> Points:
    """A closed ellipse (a circle without ``ry``), starting at ``start`` degrees."""
    return _arc(cx, cy, rx, rx if ry is None else ry, start, start + 360)


def _bumpy(cx: float, cy: float, rx: float, ry: float, bumps: int, height: float, start: float = 0,
           end: float = 360) -> Points:
    """An ellipse's arc made of ``bumps`` outward scallops, each ``height`` of the radius high."""
    count = bumps * 10
    points = []
    for index in range(count + 1):
        fraction = index / count
        angle = math.radians(start + (end - start) * fraction)
        scale = 1 + height * abs(math.sin(math.pi * bumps * fraction))
        points.append((cx + rx * scale * math.cos(angle), cy + ry * scale * math.sin(angle)))
    return points


def _smooth(points: Points, per_segment: int = 6) -> Points:
    """A smooth curve through the points (Catmull-Rom), as a hand rounds its corners."""
    padded = [points[0], *points, points[-1]]
    curve = [points[0]]
    for p0, p1, p2, p3 in zip(padded, padded[1:], padded[2:], padded[3:]):
        for step in range(1, per_segment + 1):
            t = step / per_segment
            curve.append(tuple(0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t * t
                                      + (3 * b - a - 3 * c + d) * t ** 3)
                               for a, b, c, d in zip(p0, p1, p2, p3)))
    return curve


def _turn(points: Points, degrees: float, centre: tuple[float, float] = (128, 128)) -> Points:
    """The points rotated about ``centre``: the same thing drawn at a slant."""
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return [(centre[0] + (x - centre[0]) * cos - (y - centre[1]) * sin,
             centre[1] + (x - centre[0]) * sin + (y - centre[1]) * cos) for x, y in points]


def _mirror(points: Points) -> Points:
    """The points mirrored left to right: the same thing facing the other way."""
    return [(255 - x, y) for x, y in points]


def _box(left: float, top: float, right: float, bottom: float) -> Points:
    """A rectangle drawn in one stroke from its top-left corner, clockwise."""
    return [(left, top), (right, top), (right, bottom), (left, bottom), (left, top)]


def _crescent(tip_angle: float, inner_offset: float) -> Points:
    """A crescent opening to the right in one stroke: the outer arc, then the inner arc back to the first tip."""
    outer = _arc(128, 128, 100, 100, tip_angle, 360 - tip_angle)
    top_tip, bottom_tip = outer[-1], outer[0]
    inner_cx = top_tip[0] + inner_offset
    radius = math.hypot(top_tip[0] - inner_cx, top_tip[1] - 128)
    start = math.degrees(math.atan2(top_tip[1] - 128, top_tip[0] - inner_cx)) % 360
    end = math.degrees(math.atan2(bottom_tip[1] - 128, bottom_tip[0] - inner_cx)) % 360
    return outer + _arc(inner_cx, 128, radius, radius, start, end)


# ---- Everyday things that are not accessories, three ways each ----


def house_outline() -> list[Stroke]:
    """Walls and roof in one stroke, a window and a door."""
    return _pen(11, [(60, 240), (60, 110), (128, 35), (196, 110), (196, 240), (60, 240)],
                _box(78, 135, 115, 170), [(140, 240), (140, 180), (174, 180), (174, 240)])


def house_chimney() -> list[Stroke]:
    """A wide house with a chimney, two crossed windows and a door."""
    return _pen(12, _box(30, 130, 225, 235), [(18, 135), (128, 50), (237, 135)],
                [(168, 85), (168, 45), (195, 45), (195, 106)],
                _box(48, 150, 88, 190), [(68, 150), (68, 190)], [(48, 170), (88, 170)],
                _box(168, 150, 208, 190), [(188, 150), (188, 190)], [(168, 170), (208, 170)],
                [(110, 235), (110, 175), (145, 175), (145, 235)])


def smiley_dashes() -> list[Stroke]:
    """A face drawn anticlockwise from the top, dashes for eyes, a wide grin."""
    return _pen(21, _arc(128, 128, 105, 105, -90, -450), [(95, 80), (95, 112)], [(161, 80), (161, 112)],
                _arc(128, 130, 68, 62, 15, 165))


def smiley_oval() -> list[Stroke]:
    """An oval face, dots for eyes, a nose and a small smile."""
    return _pen(22, _ring(128, 128, 85, 112), _ring(100, 92, 5), _ring(156, 92, 5),
                [(128, 112), (120, 140), (132, 142)], _smooth([(92, 165), (110, 185), (146, 185), (164, 165)]))


def squiggle_wave() -> list[Stroke]:
    """A wavy line from left to right."""
    return _pen(31, [(x, 128 + 55 * math.sin((x - 20) / 215 * 4 * 2 * math.pi)) for x in np.linspace(20, 235, 90)])


def squiggle_tangle() -> list[Stroke]:
    """Two tangled strokes going back and forth at random."""
    rng = np.random.default_rng(32)
    return _pen(33, *[_smooth([tuple(point) for point in rng.uniform(35, 220, (14, 2))], 5) for _ in range(2)])


def cup_with_handle() -> list[Stroke]:
    """A tapering cup in one stroke and a round handle."""
    return _pen(41, [(65, 60), (190, 60), (172, 225), (83, 225), (65, 60)], _arc(180, 140, 42, 40, -100, 100))


def cup_tumbler() -> list[Stroke]:
    """A glass without a handle: an oval rim, two sides and a curved bottom."""
    return _pen(42, _ring(128, 50, 62, 14, 180), [(66, 52), (88, 226)], [(190, 52), (168, 226)],
                _arc(128, 226, 40, 9, 180, 0))


def cup_teacup() -> list[Stroke]:
    """A teacup: a rim line, a round bowl, a small handle and a saucer."""
    return _pen(43, [(40, 105), (216, 105)], _arc(128, 105, 88, 88, 0, 180), _arc(208, 135, 26, 24, -110, 90),
                _ring(128, 200, 112, 18, 180))


def tree_leafy() -> list[Stroke]:
    """A bumpy round crown on a trunk of two lines."""
    return _pen(51, _bumpy(128, 95, 82, 66, 9, 0.13), [(108, 158), (104, 242)], [(148, 158), (152, 242)])


def tree_pine() -> list[Stroke]:
    """A pine tree: three stacked triangles in one zigzag stroke and a square trunk."""
    return _pen(52, [(128, 15), (72, 85), (105, 85), (52, 150), (95, 150), (35, 212), (221, 212), (161, 150),
                     (204, 150), (151, 85), (184, 85), (128, 15)], [(112, 212), (112, 245), (144, 245), (144, 212)])


def tree_lollipop() -> list[Stroke]:
    """A round crown, a rectangle trunk and the ground."""
    return _pen(53, _ring(128, 88, 75), [(114, 162), (114, 240), (142, 240), (142, 162)], [(30, 242), (226, 242)])


def key_sideways() -> list[Stroke]:
    """A round bow on the left, a long shaft and two teeth."""
    return _pen(61, _ring(62, 128, 40, 40, 0), [(102, 128), (232, 128)],
                [(232, 128), (232, 160), (212, 160), (212, 142), (192, 142), (192, 128)])


def key_upright() -> list[Stroke]:
    """A key standing up: a bow with a hole, a shaft and teeth on the right."""
    return _pen(62, _ring(128, 58, 45), _ring(128, 55, 12), [(128, 103), (128, 240)],
                [(128, 240), (162, 240), (162, 218), (128, 218)], [(128, 200), (152, 200), (152, 182), (128, 182)])


def key_outline() -> list[Stroke]:
    """An old key in outline: an oval bow with a hole and a notched blade."""
    return _pen(63, _ring(58, 128, 45, 55, 0), _ring(48, 128, 13),
                [(103, 115), (228, 115), (228, 142), (214, 142), (214, 162), (198, 162), (198, 142), (182, 142),
                 (182, 156), (166, 156), (166, 142), (103, 142)])


def moon_crescent() -> list[Stroke]:
    """A fat crescent opening to the right, in one stroke."""
    return _pen(71, _crescent(60, 22))


def moon_thin() -> list[Stroke]:
    """A thin crescent opening to the left, its two edges drawn apart."""
    outline = _mirror(_crescent(40, -55))
    middle = len(_arc(128, 128, 100, 100, 40, 320))
    return _pen(72, outline[:middle], outline[middle - 1:])


def moon_craters() -> list[Stroke]:
    """A crescent with two craters on it."""
    return _pen(73, _crescent(55, 15), _ring(70, 110, 12), _ring(85, 165, 8))


def cloud_flat() -> list[Stroke]:
    """Bumps along the top and a flat bottom, in one stroke."""
    top = _bumpy(128, 165, 105, 80, 5, 0.22, 180, 360)
    return _pen(81, top + [top[0]])


def cloud_round() -> list[Stroke]:
    """Scallops all the way round."""
    return _pen(82, _bumpy(128, 128, 100, 60, 8, 0.2))


def cloud_two_strokes() -> list[Stroke]:
    """Three big bumps, then a separate, slightly curved bottom line."""
    return _pen(83, _bumpy(128, 170, 110, 100, 3, 0.25, 180, 360),
                _smooth([(18, 170), (128, 182), (238, 170)]))


def ladder_upright() -> list[Stroke]:
    """Two rails and five rungs."""
    return _pen(91, [(80, 15), (80, 242)], [(176, 15), (176, 242)],
                *[[(80, y), (176, y)] for y in (50, 92, 134, 176, 218)])


def ladder_leaning() -> list[Stroke]:
    """A ladder leaning to the right, six rungs between slanted rails."""
    left, right = ((60, 242), (150, 15)), ((125, 246), (212, 22))

    def along(rail: tuple, t: float) -> tuple[float, float]:
        return rail[0][0] + (rail[1][0] - rail[0][0]) * t, rail[0][1] + (rail[1][1] - rail[0][1]) * t

    return _pen(92, list(left), list(right), *[[along(left, t), along(right, t)] for t in np.linspace(0.1, 0.9, 6)])


def ladder_narrow() -> list[Stroke]:
    """A tall narrow ladder: one rail drawn down, one up, seven rungs from the bottom."""
    return _pen(93, [(103, 12), (103, 245)], [(153, 245), (153, 12)],
                *[[(103, y), (153, y)] for y in np.linspace(220, 40, 7)])


def _petal(angle: float) -> Points:
    return _turn(_ring(128 + 42, 92, 30, 15, 180), angle, (128, 92))


def flower_petals() -> list[Stroke]:
    """A round middle, five petals one by one, a stem and a leaf."""
    return _pen(101, _ring(128, 92, 16), *[_petal(angle) for angle in range(-90, 270, 72)],
                [(128, 150), (126, 245)], _smooth([(127, 215), (160, 185), (185, 190), (160, 212), (127, 222)]))


def flower_looping() -> list[Stroke]:
    """Five petals in one looping stroke, then a stem."""
    petals = [(128 + 70 * math.cos(5 * t) * math.cos(t), 90 + 70 * math.cos(5 * t) * math.sin(t))
              for t in np.linspace(0, math.pi, 160)]
    return _pen(102, petals, [(128, 150), (132, 245)])


def flower_tulip() -> list[Stroke]:
    """A tulip: a cup with a zigzag top, a stem and two long leaves."""
    return _pen(103, _smooth([(85, 45), (107, 78), (128, 40), (149, 78), (171, 45), (170, 105), (150, 138),
                              (106, 138), (86, 105), (85, 45)], 4),
                [(128, 138), (128, 245)], _smooth([(126, 225), (80, 160), (88, 205), (126, 238)]),
                _smooth([(130, 215), (180, 165), (172, 200), (130, 232)]))


def sun_rays() -> list[Stroke]:
    """A circle and eight straight rays."""
    rays = [[(128 + 72 * math.cos(a), 128 + 72 * math.sin(a)), (128 + 112 * math.cos(a), 128 + 112 * math.sin(a))]
            for a in np.radians(np.arange(0, 360, 45))]
    return _pen(111, _ring(128, 128, 55), *rays)


def sun_zigzag() -> list[Stroke]:
    """A circle inside one zigzag stroke of pointed rays."""
    zigzag = [(128 + r * math.cos(a), 128 + r * math.sin(a))
              for r, a in zip([70, 108] * 12 + [70], np.radians(np.arange(0, 375, 15)))]
    return _pen(112, _ring(128, 128, 58), zigzag)


def sun_corner() -> list[Stroke]:
    """A sun peeking from the top-left corner, with long rays."""
    rays = [[(95 * math.cos(a) + 12, 95 * math.sin(a) + 12), (175 * math.cos(a) + 12, 175 * math.sin(a) + 12)]
            for a in np.radians([8, 30, 52, 74])]
    return _pen(113, _arc(12, 12, 80, 80, 0, 90), *rays)


def star_crossing() -> list[Stroke]:
    """A five-pointed star in one crossing stroke."""
    return _pen(121, [(128 + 112 * math.cos(a), 135 + 112 * math.sin(a))
                      for a in np.radians(np.arange(-90, 650, 144))])


def star_outline() -> list[Stroke]:
    """A five-pointed star's outline, its ten corners in one stroke."""
    return _pen(122, [(128 + r * math.cos(a), 138 + r * math.sin(a))
                      for r, a in zip([115, 46] * 5 + [115], np.radians(np.arange(-90, 271, 36)))])


def star_two_strokes() -> list[Stroke]:
    """An uneven star's outline in two strokes, left half then right half, from the top point."""
    radii = [118, 50, 100, 42, 110, 55, 95, 45, 112, 48, 118]
    corners = [(128 + r * math.cos(a), 135 + r * math.sin(a)) for r, a in zip(radii, np.radians(np.arange(-90, 271, 36)))]
    return _pen(123, corners[::-1][:6], corners[:6])


def car_side() -> list[Stroke]:
    """A car from the side: a body with a cabin bump in one stroke, then two wheels."""
    return _pen(131, _smooth([(22, 172), (20, 132), (68, 124), (96, 80), (168, 80), (200, 124), (230, 136),
                              (232, 172), (22, 172)], 3), _ring(72, 175, 22), _ring(188, 175, 22))


def car_boxy() -> list[Stroke]:
    """A boxy car: a long body, a cabin with two windows, two wheels."""
    return _pen(132, _box(22, 122, 234, 185), [(62, 122), (90, 70), (172, 70), (200, 122)], [(131, 70), (131, 122)],
                _ring(72, 190, 26), _ring(184, 190, 26))


def car_wheels_first() -> list[Stroke]:
    """Wheels first, then a rounded body over them, a door and a headlight."""
    return _pen(133, _ring(70, 200, 27), _ring(188, 200, 27),
                _smooth([(43, 200), (28, 196), (30, 160), (62, 150), (88, 105), (172, 105), (205, 150), (232, 160),
                         (232, 196), (215, 200)], 3), [(97, 200), (161, 200)], [(130, 110), (130, 195)],
                _ring(222, 172, 6))


def fish_one_stroke() -> list[Stroke]:
    """A fish facing left in one stroke: the body round to the tail and back, then an eye."""
    return _pen(141, _arc(112, 128, 85, 55, -15, -345) + [(240, 176), (240, 80), (196, 114)], _ring(65, 115, 6))


def fish_striped() -> list[Stroke]:
    """A fish facing right: an oval body, a separate tail, stripes, a fin and an eye."""
    return _pen(142, _mirror(_ring(115, 128, 82, 50)), [(58, 128), (14, 88), (14, 170), (58, 128)],
                _smooth([(115, 82), (108, 128), (115, 174)]), _smooth([(150, 80), (143, 128), (150, 176)]),
                [(125, 80), (140, 52), (165, 82)], _ring(200, 115, 6))


def fish_crossed_tail() -> list[Stroke]:
    """The two-curve fish: two arcs from the nose that cross to make the tail, and an eye."""
    return _pen(143, _smooth([(28, 128), (110, 70), (190, 110), (232, 170)]),
                _smooth([(28, 128), (110, 186), (190, 146), (232, 86)]), _ring(70, 118, 5))


def apple_leaf() -> list[Stroke]:
    """An apple with a dip at the top, a stem and a leaf."""
    return _pen(151, _smooth([(128, 72), (180, 50), (228, 100), (215, 190), (160, 238), (128, 226), (96, 238),
                              (41, 190), (28, 100), (76, 50), (128, 72)], 5),
                [(128, 74), (136, 28)], _smooth([(134, 48), (160, 20), (192, 24), (166, 46), (134, 48)], 4))


def apple_round() -> list[Stroke]:
    """A plain circle with a stem."""
    return _pen(152, _ring(128, 145, 95), [(128, 52), (120, 18)])


def apple_bitten() -> list[Stroke]:
    """An apple with a bite out of its right side, a stem and a leaf."""
    return _pen(153, _smooth([(128, 70), (178, 48), (220, 80), (190, 110), (188, 150), (222, 175), (170, 236),
                              (128, 228), (88, 238), (36, 185), (30, 95), (78, 50), (128, 70)], 5),
                [(128, 72), (124, 25)], _smooth([(126, 42), (95, 18), (70, 28), (100, 44), (126, 42)], 4))


def envelope_flap() -> list[Stroke]:
    """A rectangle and a V for the flap."""
    return _pen(161, _box(28, 60, 228, 196), [(28, 62), (128, 138), (228, 62)])


def envelope_folds() -> list[Stroke]:
    """A rectangle, the flap's V, and the folds from the bottom corners."""
    return _pen(162, _box(28, 60, 228, 196), [(28, 62), (128, 138), (228, 62)], [(28, 196), (108, 122)],
                [(228, 196), (148, 122)])


def envelope_open() -> list[Stroke]:
    """An open envelope: the flap points up above the rectangle."""
    return _pen(163, _box(28, 100, 228, 232), [(28, 100), (128, 22), (228, 100)], [(28, 102), (128, 172), (228, 102)])


def bulb_round() -> list[Stroke]:
    """A round glass with a neck, a screw base with two lines, a tip."""
    return _pen(171, _smooth([(106, 172), (102, 148), (70, 122), (62, 82), (84, 42), (128, 26), (172, 42),
                              (194, 82), (186, 122), (154, 148), (150, 172)], 4),
                _box(104, 172, 152, 214), [(104, 186), (152, 186)], [(104, 200), (152, 200)],
                [(118, 214), (128, 230), (138, 214)])


def bulb_filament() -> list[Stroke]:
    """A glass, a zigzag filament inside it and a plain base."""
    return _pen(172, _smooth([(104, 180), (100, 150), (66, 120), (58, 80), (82, 36), (128, 20), (174, 36),
                              (198, 80), (190, 120), (156, 150), (152, 180)], 4),
                [(110, 178), (114, 118), (121, 132), (128, 112), (135, 132), (142, 118), (146, 178)],
                [(100, 180), (156, 180), (152, 232), (104, 232), (100, 180)])


def bulb_pear() -> list[Stroke]:
    """A pear-shaped glass with a long neck and a threaded base drawn as a zigzag."""
    return _pen(173, _smooth([(110, 168), (108, 138), (82, 110), (78, 70), (100, 35), (128, 28), (156, 35),
                              (178, 70), (174, 110), (148, 138), (146, 168)], 4),
                [(110, 168), (146, 168)], [(108, 168), (148, 178), (108, 188), (148, 198), (108, 208), (148, 218)],
                [(116, 222), (128, 240), (140, 222)])


def mountain_two() -> list[Stroke]:
    """Two peaks in one zigzag line."""
    return _pen(181, [(10, 222), (85, 70), (130, 150), (178, 88), (245, 222)])


def mountain_snowy() -> list[Stroke]:
    """Three peaks, the tallest with a snow cap."""
    return _pen(182, [(10, 225), (70, 110), (110, 170), (150, 60), (195, 150), (215, 120), (245, 225)],
                [(135, 100), (145, 112), (152, 98), (161, 112), (170, 100)])


def mountain_behind() -> list[Stroke]:
    """One big closed triangle, a smaller peak behind it, and the ground."""
    return _pen(183, [(20, 230), (118, 40), (232, 230), (20, 230)], [(172, 128), (205, 82), (248, 230)],
                [(5, 232), (250, 232)])


def snowman_two() -> list[Stroke]:
    """Two circles, dot eyes and three buttons."""
    return _pen(191, _ring(128, 72, 45), _ring(128, 180, 65), _ring(112, 62, 4), _ring(144, 62, 4),
                *[_ring(128, y, 5) for y in (150, 180, 210)])


def snowman_three() -> list[Stroke]:
    """Three circles and two stick arms with fingers."""
    return _pen(192, _ring(128, 38, 27), _ring(128, 106, 41), _ring(128, 192, 52),
                [(90, 105), (40, 72)], [(52, 80), (45, 60)], [(166, 105), (216, 72)], [(204, 80), (211, 60)])


def snowman_one_stroke() -> list[Stroke]:
    """Head and body in one stroke, a carrot nose and coal eyes."""
    return _pen(193, _arc(128, 70, 45, 45, 115, 425) + _arc(128, 180, 68, 68, -112, 248),
                [(128, 75), (160, 82), (128, 88)], _ring(112, 60, 4), _ring(142, 60, 4))


def candle_tall() -> list[Stroke]:
    """A tall candle, its wick and a flame."""
    return _pen(201, [(100, 90), (100, 242), (156, 242), (156, 90), (100, 90)], [(128, 90), (128, 72)],
                _smooth([(128, 72), (112, 52), (128, 12), (144, 52), (128, 72)], 4))


def candle_dripping() -> list[Stroke]:
    """A short wide candle with wax dripping from its top, and a flame."""
    return _pen(202, [(78, 130), (96, 130), (100, 162), (106, 130), (140, 130), (145, 172), (151, 130), (178, 130)],
                [(78, 130), (78, 238), (178, 238), (178, 130)], [(128, 130), (128, 110)],
                _smooth([(128, 110), (108, 84), (128, 40), (148, 84), (128, 110)], 4))


def candle_holder() -> list[Stroke]:
    """A thin candle on a plate with a handle, a flame with a flame inside it."""
    return _pen(203, _ring(128, 228, 88, 16, 180), _smooth([(216, 228), (240, 210), (228, 196), (210, 220)], 4),
                [(110, 226), (110, 92), (146, 92), (146, 226)],
                _smooth([(128, 88), (106, 60), (128, 15), (150, 60), (128, 88)], 4),
                _smooth([(128, 80), (120, 64), (128, 45), (136, 64), (128, 80)], 3))


# ---- The six accessories, three ways each ----


def bowtie_triangles() -> list[Stroke]:
    """Two triangles meeting in the middle in one stroke, and a square knot."""
    return _pen(301, [(128, 128), (28, 68), (28, 188), (128, 128), (228, 68), (228, 188), (128, 128)],
                _box(113, 110, 143, 146))


def bowtie_rounded() -> list[Stroke]:
    """Two rounded loops, an oval knot and a fold in each loop."""
    left = _smooth([(112, 112), (70, 72), (34, 86), (28, 128), (34, 170), (70, 184), (112, 144)], 5)
    return _pen(302, left, _mirror(left), _ring(128, 128, 17, 22),
                [(60, 110), (85, 124)], [(196, 110), (171, 124)])


def bowtie_hourglass() -> list[Stroke]:
    """A bowtie as one crossed outline (an hourglass on its side), then a round knot."""
    return _pen(303, [(30, 82), (226, 174), (226, 82), (30, 174), (30, 82)], _ring(128, 128, 16))


def lipstick_upright() -> list[Stroke]:
    """An upright lipstick: the tube, the holder and the slanted tip."""
    return _pen(311, _box(85, 150, 171, 245), [(100, 150), (100, 95), (156, 95), (156, 150)],
                [(106, 95), (106, 52), (150, 24), (150, 95)])


def lipstick_with_cap() -> list[Stroke]:
    """A lipstick with its cap off, standing beside it."""
    return _pen(312, _box(40, 135, 110, 245), [(52, 135), (52, 95), (98, 95), (98, 135)],
                [(58, 95), (58, 55), (92, 32), (92, 95)], _box(150, 115, 222, 245), [(150, 140), (222, 140)])


def lipstick_tilted() -> list[Stroke]:
    """A lipstick lying at a slant with a band on the tube and a rounded tip."""
    parts = [_box(90, 140, 166, 245), [(90, 160), (166, 160)], [(102, 140), (102, 92), (154, 92), (154, 140)],
             _smooth([(107, 92), (107, 55), (128, 22), (149, 45), (149, 92)], 4)]
    return _pen(313, *[_turn(part, 35) for part in parts])


def purse_handbag() -> list[Stroke]:
    """A handbag: a trapezoid body and one arched handle."""
    return _pen(321, [(45, 110), (211, 110), (230, 235), (26, 235), (45, 110)], _arc(128, 110, 42, 52, 180, 360))


def purse_shoulder_bag() -> list[Stroke]:
    """A shoulder bag: a rectangle, a pointed flap with a clasp, and a long strap."""
    return _pen(322, _box(30, 110, 226, 220), [(30, 112), (128, 170), (226, 112)], _ring(128, 170, 8),
                _smooth([(34, 112), (80, 50), (128, 22), (176, 50), (222, 112)], 4))


def purse_round() -> list[Stroke]:
    """A round-bottomed bag drawn top edge first, with two small handles."""
    return _pen(323, [(40, 125), (216, 125)] + _arc(128, 125, 88, 110, 0, 180),
                _arc(108, 125, 40, 62, 180, 360), _arc(148, 125, 40, 62, 180, 360))


def sock_left() -> list[Stroke]:
    """A sock with its toe to the left, in one stroke, the cuff on top."""
    return _pen(331, _smooth([(150, 20), (150, 168), (162, 200), (158, 232), (130, 242), (48, 240), (26, 215),
                              (40, 188), (90, 165), (90, 20)], 5), [(90, 20), (150, 20)], [(90, 48), (150, 48)])


def sock_striped() -> list[Stroke]:
    """A sock with its toe to the right, stripes on the leg, a heel and a toe patch."""
    outline = _mirror(_smooth([(150, 20), (150, 168), (162, 200), (158, 232), (130, 242), (48, 240), (26, 215),
                               (40, 188), (90, 165), (90, 20), (150, 20)], 5))
    return _pen(332, outline, [(105, 60), (165, 60)], [(105, 95), (165, 95)], [(105, 130), (165, 130)],
                _smooth([(106, 198), (122, 212), (126, 240)]), _smooth([(205, 175), (200, 210), (215, 240)]))


def sock_ankle() -> list[Stroke]:
    """A short ankle sock: a ribbed cuff, then a long foot to the right."""
    return _pen(333, _box(50, 78, 120, 108), *[[(x, 80), (x, 106)] for x in (66, 82, 98)],
                _smooth([(50, 108), (48, 150), (40, 185), (62, 208), (140, 212), (212, 205), (230, 180),
                         (205, 158), (130, 150), (120, 108)], 5))


def _umbrella() -> list[Points]:
    """A domed canopy with a scalloped edge, and a hooked handle, as shapes."""
    edge = [point for cx in (210.5, 155.5, 100.5, 45.5) for point in _arc(cx, 130, 27.5, 16, 0, -180)]
    return [_arc(128, 130, 110, 95, 180, 360) + edge, [(128, 128), (128, 222)] + _arc(110, 222, 18, 18, 0, 180)]


def umbrella_scalloped() -> list[Stroke]:
    """A domed canopy with a scalloped edge, and a hooked handle."""
    return _pen(341, *_umbrella())


def umbrella_ribs() -> list[Stroke]:
    """A canopy with a straight edge and ribs, a tip on top and a hooked handle."""
    return _pen(342, _arc(128, 132, 108, 98, 180, 360) + [(20, 132)],
                *[[(128, 34), (x, 132)] for x in (65, 105, 151, 191)], [(128, 34), (128, 16)],
                [(128, 132), (128, 228), (118, 240), (104, 236), (100, 224)])


def umbrella_tilted() -> list[Stroke]:
    """The scalloped umbrella held at a slant."""
    return _pen(343, *[_turn(shape, -25) for shape in _umbrella()])


def watch_round() -> list[Stroke]:
    """A round face with two hands, and straps going up and down."""
    return _pen(351, _ring(128, 128, 48), [(128, 128), (128, 96)], [(128, 128), (152, 140)],
                [(106, 85), (108, 18), (148, 18), (150, 85)], [(106, 171), (108, 238), (148, 238), (150, 171)])


def watch_square() -> list[Stroke]:
    """A square face with hands, straps with buckle holes."""
    return _pen(352, _box(86, 88, 170, 170), [(128, 129), (128, 102)], [(128, 129), (148, 129)],
                [(100, 88), (102, 14), (154, 14), (156, 88)], [(100, 170), (102, 244), (154, 244), (156, 170)],
                _ring(128, 195, 4), _ring(128, 215, 4))


def watch_ticks() -> list[Stroke]:
    """A round face with twelve ticks, hands and a crown, and widening straps."""
    ticks = [[(128 + 44 * math.cos(a), 128 + 44 * math.sin(a)), (128 + 52 * math.cos(a), 128 + 52 * math.sin(a))]
             for a in np.radians(np.arange(0, 360, 30))]
    return _pen(353, _ring(128, 128, 58), *ticks, [(128, 128), (128, 92)], [(128, 128), (104, 140)],
                _box(186, 120, 196, 136), [(100, 77), (94, 12)], [(156, 77), (162, 12)],
                [(100, 179), (94, 244)], [(156, 179), (162, 244)])


# Everyday things, by their Quick Draw category name (all_categories.txt's spelling): three
# ways each, the issue's examples (house, smiley, scribble) first in their categories.
NOT_ACCESSORIES: dict[str, list[Drawing]] = {
    "house": [house, house_outline, house_chimney],
    "smiley face": [smiley, smiley_dashes, smiley_oval],
    "squiggle": [scribble, squiggle_wave, squiggle_tangle],
    "cup": [cup_with_handle, cup_tumbler, cup_teacup],
    "tree": [tree_leafy, tree_pine, tree_lollipop],
    "key": [key_sideways, key_upright, key_outline],
    "moon": [moon_crescent, moon_thin, moon_craters],
    "cloud": [cloud_flat, cloud_round, cloud_two_strokes],
    "ladder": [ladder_upright, ladder_leaning, ladder_narrow],
    "flower": [flower_petals, flower_looping, flower_tulip],
    "sun": [sun_rays, sun_zigzag, sun_corner],
    "star": [star_crossing, star_outline, star_two_strokes],
    "car": [car_side, car_boxy, car_wheels_first],
    "fish": [fish_one_stroke, fish_striped, fish_crossed_tail],
    "apple": [apple_leaf, apple_round, apple_bitten],
    "envelope": [envelope_flap, envelope_folds, envelope_open],
    "light bulb": [bulb_round, bulb_filament, bulb_pear],
    "mountain": [mountain_two, mountain_snowy, mountain_behind],
    "snowman": [snowman_two, snowman_three, snowman_one_stroke],
    "candle": [candle_tall, candle_dripping, candle_holder],
}
# The six accessories, named as the model's categories are: three ways each.
ACCESSORIES: dict[str, list[Drawing]] = {
    "bowtie": [bowtie_triangles, bowtie_rounded, bowtie_hourglass],
    "lipstick": [lipstick_upright, lipstick_with_cap, lipstick_tilted],
    "purse": [purse_handbag, purse_shoulder_bag, purse_round],
    "sock": [sock_left, sock_striped, sock_ankle],
    "umbrella": [umbrella_scalloped, umbrella_ribs, umbrella_tilted],
    "wristwatch": [watch_round, watch_square, watch_ticks],
}
# The issue's three examples, by the names the first tests gave them.
ISSUE_EXAMPLES: dict[str, Drawing] = {"house": house, "smiley": smiley, "scribble": scribble}


@dataclass(frozen=True)
class Doodle:
    """One hand-made drawing: its category, which of its three ways, and whether it is an accessory."""

    category: str
    way: int  # 1, 2 or 3.
    accessory: bool
    draw: Drawing

    @property
    def name(self) -> str:
        """A short unique name, such as "light bulb 2"."""
        return f"{self.category} {self.way}"

    @property
    def description(self) -> str:
        """How it is drawn: the drawing function's docstring."""
        return (self.draw.__doc__ or "").strip()


def doodles() -> list[Doodle]:
    """Every drawing: the everyday things first, then the accessories, in the dictionaries' order."""
    return [Doodle(category, way, accessory, draw)
            for group, accessory in ((NOT_ACCESSORIES, False), (ACCESSORIES, True))
            for category, ways in group.items() for way, draw in enumerate(ways, start=1)]

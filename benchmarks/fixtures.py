"""Drawings the benchmarks replay: real Quick Draw strokes when the mirror is present."""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path

from PIL import Image, ImageDraw

from training.categories import DEFAULT_CATEGORIES
from training.sources import local_mirror

REPO = Path(__file__).resolve().parent.parent


# The repository's own 25 real drawings per accessory (CC BY 4.0), for clones without a mirror.
QUICKDRAW_FIXTURE = REPO / "tests" / "fixtures" / "quickdraw"


def quickdraw_folder() -> Path | None:
    """The local Quick Draw mirror when it has the simplified strokes, else the shipped fixture (else None)."""
    folder = local_mirror()
    if folder is not None and (folder / "simplified").is_dir():
        return folder
    return QUICKDRAW_FIXTURE if (QUICKDRAW_FIXTURE / "simplified").is_dir() else None


def _synthetic_drawings(count: int) -> list[list]:
    """Circles and zig-zags, for machines without the mirror."""
    drawings = []
    for index in range(count):
        points = 40 + index % 30
        circle = [[round(120 + 100 * math.cos(2 * math.pi * k / points), 1) for k in range(points + 1)],
                  [round(120 + 80 * math.sin(2 * math.pi * k / points), 1) for k in range(points + 1)]]
        zigzag = [[20 * k for k in range(12)], [200 + (index % 7) * (k % 2) * 5 for k in range(12)]]
        drawings.append([circle, zigzag])
    return drawings


def sample_drawings(per_category: int = 25) -> list[tuple[str, list]]:
    """(label, strokes) pairs in Quick Draw's stroke format, cycled through the categories."""
    folder = quickdraw_folder()
    pairs: list[tuple[str, list]] = []
    if folder is not None:
        for category in DEFAULT_CATEGORIES:
            path = folder / "simplified" / f"{category}.ndjson"
            if path.exists():
                lines = path.read_text().splitlines()[:per_category]
                pairs.extend((category, json.loads(line)["drawing"]) for line in lines)
    if not pairs:
        pairs = [(DEFAULT_CATEGORIES[i % len(DEFAULT_CATEGORIES)], d) for i, d in enumerate(_synthetic_drawings(60))]
    return pairs


def canvas_png_data_url(strokes: list, side: int = 400, line_width: int = 8) -> str:
    """The drawing as a browser canvas would export it: black ink on white, as a PNG data URL."""
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    scale = (side - 40) / 256
    for xs, ys, *_ in strokes:
        points = [(20 + x * scale, 20 + y * scale) for x, y in zip(xs, ys)]
        draw.line(points if len(points) > 1 else points * 2, fill="black", width=line_width, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

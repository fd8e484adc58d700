"""The canonical preprocessing spec: constants shared by Python and, via JSON, JavaScript.

Quick Draw's numpy_bitmap files were rendered from the simplified strokes: the drawing is
aligned to the top-left, scaled so that its longest side spans 0-255, simplified with
Ramer-Douglas-Peucker, centred on its bounding box in a 256-unit box, drawn with a round
pen 16 units wide, padded by 16 units (plus half a pen) on every side and scaled down to
28x28, antialiased, white ink on black. ``docs/preprocessing.md`` explains every step.

This module imports nothing heavy: the web app, the exporter and the tests read it freely.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Bump the version whenever any constant or step below changes: it is written into the
# model card and the exported model's metadata, and the web app refuses a model whose
# version differs from its own preprocessing.
SPEC_VERSION = "qd-bitmap-1"

IMAGE_SIZE = 28  # Output side in pixels.
SOURCE_SIDE = 256.0  # Google's drawing box; coordinates are scaled into 0..MAX_COORDINATE.
MAX_COORDINATE = 255.0  # Longest side of a normalised drawing.
PEN_DIAMETER = 16.0  # Round pen, in source units (about 1.5 px at 28x28).
PADDING = 16.0  # Margin on each side, in source units, before the pen's own half width.
SIMPLIFY_EPSILON = 2.0  # Ramer-Douglas-Peucker tolerance in source units, as Quick Draw used.

# Derived once here so that neither implementation re-derives them differently.
TOTAL_PADDING = 2 * PADDING + PEN_DIAMETER
PIXEL_SCALE = IMAGE_SIZE / (SOURCE_SIDE + TOTAL_PADDING)  # Source units to pixels.
PEN_RADIUS_PX = PEN_DIAMETER / 2 * PIXEL_SCALE

SPEC_JSON_PATH = Path(__file__).with_name("spec.json")


def spec_dict() -> dict[str, Any]:
    """Return the spec as plain data, the form both JSON readers and the model card use."""
    return {
        "version": SPEC_VERSION,
        "image_size": IMAGE_SIZE,
        "source_side": SOURCE_SIDE,
        "max_coordinate": MAX_COORDINATE,
        "pen_diameter": PEN_DIAMETER,
        "padding": PADDING,
        "simplify_epsilon": SIMPLIFY_EPSILON,
        # Derived values travel too, so that JavaScript reads the very same doubles.
        "total_padding": TOTAL_PADDING,
        "pixel_scale": PIXEL_SCALE,
        "pen_radius_px": PEN_RADIUS_PX,
        "ink": "white-on-black",
        "value_range": [0.0, 1.0],
        "input_shape": [IMAGE_SIZE, IMAGE_SIZE, 1],
    }


def write_spec_json(path: Path = SPEC_JSON_PATH) -> Path:
    """Write the spec for JavaScript; a test keeps the committed file equal to ``spec_dict()``."""
    path.write_text(json.dumps(spec_dict(), indent=2) + "\n")
    return path


if __name__ == "__main__":
    print(write_spec_json())

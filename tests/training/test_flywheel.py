"""The flywheel benchmark's drawings: a bitmap sent as traced strokes comes back as itself.

The quick flywheel itself (`python -m benchmarks --only flywheel --quick`: contributions
through the HTTP API, retrain, gate, poison refused) needs a few hundred real bowtie and
umbrella rows, which only the local Quick Draw mirror has; `make test` must pass without it,
so it runs with `make bench`, not here (docs/retraining.md).
"""

from __future__ import annotations

import numpy as np

from benchmarks import flywheel
from preprocessing.strokes import drawing_to_bitmap, to_uint8


def test_traced_strokes_redraw_the_bitmap(mirror):
    """A bitmap sent as the strokes tracing its ink comes back, through the app's renderer, as the same drawing."""
    bitmaps = np.load(mirror / "numpy_bitmap" / "umbrella.npy")[:10].reshape(-1, 28, 28)
    for bitmap in bitmaps:
        redrawn = to_uint8(drawing_to_bitmap(flywheel.bitmap_strokes(bitmap))).astype(np.float64)
        original = bitmap.astype(np.float64)
        cosine = (redrawn * original).sum() / np.linalg.norm(redrawn) / np.linalg.norm(original)
        assert cosine > 0.85

"""The bitmaps the exporter measures on: the dataset's test split, or deterministic synthetic drawings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from preprocessing import spec
from preprocessing.strokes import drawing_to_bitmap

DEFAULT_DATA_DIR = Path("data/dataset")
SYNTHETIC_SEED = 1337
# Synthetic drawings mimic Quick Draw's size: a few strokes of a handful of points.
MAX_SYNTHETIC_STROKES = 4
MAX_SYNTHETIC_POINTS = 8


def load_test_split(data_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the test split as float32 (N, 28, 28, 1) in [0, 1] and int labels, or None if absent."""
    data_dir = Path(data_dir)
    if not (data_dir / "test_x.npy").is_file() or not (data_dir / "test_y.npy").is_file():
        return None
    from training.pipeline import to_model_input

    try:
        from training.dataset import load_split
    except ImportError:
        # The training package may predate its loader; the files are plain arrays either way.
        images, labels = np.load(data_dir / "test_x.npy"), np.load(data_dir / "test_y.npy")
    else:
        images, labels = load_split(data_dir, "test")
    return to_model_input(images), np.asarray(labels, dtype=np.int64)


def synthetic_bitmaps(count: int, seed: int = SYNTHETIC_SEED) -> np.ndarray:
    """Render ``count`` random scribbles with the product's preprocessing: float32 (count, 28, 28, 1)."""
    rng = np.random.default_rng(seed)
    bitmaps = np.empty((count, spec.IMAGE_SIZE, spec.IMAGE_SIZE, 1), dtype=np.float32)
    for index in range(count):
        strokes = []
        for _ in range(rng.integers(1, MAX_SYNTHETIC_STROKES + 1)):
            points = rng.integers(2, MAX_SYNTHETIC_POINTS + 1)
            strokes.append([rng.uniform(0, 255, points).round(1).tolist(), rng.uniform(0, 255, points).round(1).tolist()])
        bitmaps[index, ..., 0] = drawing_to_bitmap(strokes)
    return bitmaps


def parity_inputs(count: int, data_dir: Path | None = DEFAULT_DATA_DIR) -> tuple[np.ndarray, str]:
    """Return ``count`` bitmaps for a parity check and where they came from.

    Test-split bitmaps come first; synthetic drawings fill up a split that is too small.
    """
    if count < 1:
        raise ValueError(f"the parity check needs at least one bitmap, not {count}")
    split = load_test_split(data_dir) if data_dir is not None else None
    if split is None:
        return synthetic_bitmaps(count), "synthetic drawings"
    images = split[0][:count]
    if len(images) == count:
        return images, f"test split of {data_dir}"
    extra = synthetic_bitmaps(count - len(images))
    return np.concatenate([images, extra]), f"test split of {data_dir} ({len(images)}) + synthetic drawings"

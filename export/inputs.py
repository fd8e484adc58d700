"""The bitmaps the exporter measures on: the test split, else the local mirror's bitmaps, else synthetic drawings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from preprocessing import spec
from preprocessing.strokes import drawing_to_bitmap

SYNTHETIC_SEED = 1337
# Synthetic drawings mimic Quick Draw's size: a few strokes of a handful of points.
MAX_SYNTHETIC_STROKES = 4
MAX_SYNTHETIC_POINTS = 8


def load_test_split(data_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the test split as float32 (N, 28, 28, 1) in [0, 1] and int labels, or None if absent."""
    data_dir = Path(data_dir)
    if not (data_dir / "test_x.npy").is_file() or not (data_dir / "test_y.npy").is_file():
        return None
    from training.dataset import load_split
    from training.arrays import to_model_input

    images, labels = load_split(data_dir, "test")
    return to_model_input(images), np.asarray(labels, dtype=np.int64)


def mirror_bitmaps(count: int) -> np.ndarray | None:
    """Up to ``count`` real Quick Draw bitmaps from the local mirror, the product's categories in turn; None without one."""
    from training.categories import DEFAULT_CATEGORIES
    from training.arrays import to_model_input
    from training.sources import local_mirror

    mirror = local_mirror()
    files = [mirror / "numpy_bitmap" / f"{name}.npy" for name in DEFAULT_CATEGORIES] if mirror else []
    arrays = [np.load(path, mmap_mode="r") for path in files if path.is_file()]
    if not arrays:
        return None
    # Row i of every category in turn, so the small categories are all in and the big ones fill up.
    rows = [array[index] for index in range(max(len(array) for array in arrays))
            for array in arrays if index < len(array)][:count]
    return to_model_input(np.stack(rows).reshape(-1, spec.IMAGE_SIZE, spec.IMAGE_SIZE))


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


def parity_inputs(count: int, data_dir: Path | None) -> tuple[np.ndarray, str]:
    """Return ``count`` bitmaps for a parity check and where they came from.

    Test-split bitmaps come first; without a built dataset (a fresh clone), real bitmaps from
    the local Quick Draw mirror; synthetic drawings fill up whatever is too small.
    """
    if count < 1:
        raise ValueError(f"the parity check needs at least one bitmap, not {count}")
    split = load_test_split(data_dir) if data_dir is not None else None
    if split is not None:
        images, source = split[0][:count], f"test split of {data_dir}"
    else:
        images = mirror_bitmaps(count)
        source = "Quick Draw bitmaps of the local mirror"
        if images is None:
            return synthetic_bitmaps(count), "synthetic drawings"
    if len(images) == count:
        return images, source
    extra = synthetic_bitmaps(count - len(images))
    return np.concatenate([images, extra]), f"{source} ({len(images)}) + synthetic drawings"

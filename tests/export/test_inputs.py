"""Which bitmaps the parity checks run on: the test split, else the mirror's real drawings, else synthetic ones."""

from __future__ import annotations

import numpy as np
import pytest

from export import inputs
from training.sources import local_mirror


def test_without_a_dataset_parity_uses_the_mirrors_real_bitmaps(tmp_path):
    mirror = local_mirror()
    if mirror is None or not (mirror / "numpy_bitmap").is_dir():
        pytest.skip("no local Quick Draw mirror (set QUICKDRAW_SOURCE to one)")
    images, source = inputs.parity_inputs(1000, tmp_path / "no-dataset")
    assert source == "Quick Draw bitmaps of the local mirror"
    assert images.shape == (1000, 28, 28, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    # The first rows are each category's first drawing, in the product's order.
    first_bowtie = np.load(mirror / "numpy_bitmap" / "bowtie.npy", mmap_mode="r")[0].reshape(28, 28) / 255.0
    np.testing.assert_allclose(images[0, ..., 0], first_bowtie, atol=1e-7)


def test_without_dataset_or_mirror_parity_uses_synthetic_drawings(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "mirror_bitmaps", lambda count: None)
    images, source = inputs.parity_inputs(50, tmp_path / "no-dataset")
    assert source == "synthetic drawings"
    assert images.shape == (50, 28, 28, 1)


def test_parity_needs_at_least_one_bitmap():
    with pytest.raises(ValueError, match="at least one"):
        inputs.parity_inputs(0, None)

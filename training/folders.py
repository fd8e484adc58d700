"""Write a dataset as folders of images, the layout the seed project trained from.

Usage: ``python -m training export-folders --out DIR [--data data/dataset] [--format png|jpg]``

Writes ``DIR/shapes/<class>/<row>.<ext>`` (the train split) and ``DIR/val_shapes/<class>/...``
(the val split), white ink on black, 28x28 greyscale, readable by
``keras.utils.image_dataset_from_directory(..., color_mode="grayscale")``. That reader
numbers classes in the sorted order of the folder names, which is the dataset's order only
when its categories are sorted (the default ones are); the benchmark compares pipelines
with it, nothing trains from it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from training import dataset

FOLDERS: dict[str, str] = {"train": "shapes", "val": "val_shapes"}
FORMATS: dict[str, str] = {"png": "PNG", "jpg": "JPEG"}
JPEG_QUALITY = 95


def export_folders(dataset_dir: Path, out: Path, image_format: str = "png") -> dict[str, dict[str, int]]:
    """Write the train and val splits as class folders of images; return images per split and class."""
    if image_format not in FORMATS:
        raise ValueError(f"unknown image format {image_format!r}; choose {' or '.join(FORMATS)}")
    info = dataset.load_info(dataset_dir)
    categories = info["categories"]
    written: dict[str, dict[str, int]] = {}
    for split, folder_name in FOLDERS.items():
        images, labels = dataset.load_split(dataset_dir, split)
        folder = Path(out) / folder_name
        shutil.rmtree(folder, ignore_errors=True)  # Stale images of an older dataset would mix in.
        for category in categories:
            # Every class gets a folder, even an empty one, so the reader's class list is complete.
            (folder / category).mkdir(parents=True)
        labels = np.asarray(labels)
        for row, (image, label) in enumerate(zip(images, labels, strict=True)):
            path = folder / categories[label] / f"{row:07d}.{image_format}"
            options = {"quality": JPEG_QUALITY} if image_format == "jpg" else {}
            Image.fromarray(np.asarray(image)).save(path, FORMATS[image_format], **options)
        written[split] = {category: int((labels == index).sum()) for index, category in enumerate(categories)}
    return written


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the export-folders command's flags."""
    parser.add_argument("--data", type=Path, default=dataset.default_dataset_dir(),
                        help="dataset folder written by `training build` (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write shapes/ and val_shapes/ into")
    parser.add_argument("--format", choices=list(FORMATS), default="png", help="image format (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Export the folders and print how many images each split got."""
    written = export_folders(args.data, args.out, args.format)
    for split, counts in written.items():
        print(f"{Path(args.out) / FOLDERS[split]}: {sum(counts.values())} images in {len(counts)} classes")
    return 0

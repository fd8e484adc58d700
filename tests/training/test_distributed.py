"""Sharded datasets and tf.distribute: the shards hold the splits, stream the same batches, and two workers train one model."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from training import dataset, shards, train

REPO = Path(__file__).resolve().parents[2]
FIXTURE_BITMAPS = REPO / "tests" / "fixtures" / "quickdraw" / "numpy_bitmap"
NAMED = ("bowtie", "lipstick", "purse")  # Three of the fixture's accessories; the rest are negatives.
NEGATIVE_KINDS = ("sock", "umbrella", "wristwatch")


def write_fixture_dataset(folder: Path, seed: int = 7) -> Path:
    """The shipped fixture drawings as a built dataset, with a "none of these" class and both side files."""
    rng = np.random.default_rng(seed)
    images, labels, kinds = [], [], []
    for index, name in enumerate(NAMED + NEGATIVE_KINDS):
        bitmaps = np.load(FIXTURE_BITMAPS / f"{name}.npy").reshape(-1, 28, 28)
        images.append(bitmaps)
        negative = index >= len(NAMED)
        labels.append(np.full(len(bitmaps), len(NAMED) if negative else index, dtype=np.int64))
        kinds.append(np.full(len(bitmaps), index - len(NAMED) if negative else -1, dtype=np.int16))
    images, labels, kinds = np.concatenate(images), np.concatenate(labels), np.concatenate(kinds)
    order = rng.permutation(len(labels))
    cuts = {"train": order[:100], "val": order[100:125], "test": order[125:]}
    folder.mkdir(parents=True)
    counts = {}
    for split, rows in cuts.items():
        np.save(folder / f"{split}_x.npy", images[rows])
        np.save(folder / f"{split}_y.npy", labels[rows])
        np.save(folder / f"{split}_other.npy", kinds[rows])
        np.save(folder / f"{split}_origin.npy", (rows % 2).astype(np.int8))
        counts[split] = np.bincount(labels[rows], minlength=len(NAMED) + 1).tolist()
    info = {"categories": list(NAMED), "seed": seed, "split": dict(dataset.SPLIT_FRACTIONS), "counts": counts,
            "sources": [{"kind": "fixture"}], "preprocessing_version": 1,
            "other": {"label": "other", "categories": list(NEGATIVE_KINDS), "unseen": [], "missing": []}}
    (folder / dataset.INFO_FILE).write_text(json.dumps(info))
    return folder


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture dataset, written as three shards per split."""
    folder = write_fixture_dataset(tmp_path_factory.mktemp("sharded") / "dataset")
    shards.write_shards(folder, 3)
    return folder


def test_the_shards_hold_every_row_of_every_split_in_order(sharded: Path) -> None:
    manifest = shards.load_manifest(sharded)
    for split in dataset.SPLITS:
        images, labels = dataset.load_split(sharded, split)
        read = shards.split_arrays(sharded, split)
        assert np.array_equal(read["image"], images) and np.array_equal(read["label"], labels)
        assert np.array_equal(read["kind"], dataset.load_other_kinds(sharded, split))
        assert np.array_equal(read["origin"], dataset.load_origins(sharded, split))
        entry = manifest["splits"][split]
        assert entry["rows"] == len(labels) == sum(file["rows"] for file in entry["files"])
        assert len(entry["files"]) == 3
        assert entry["label_counts"] == np.bincount(labels).tolist()
    # Rewriting with fewer shards leaves no stale ones behind.
    shards.write_shards(sharded, 2)
    assert len(list((sharded / shards.SHARDS_DIR).glob("train-*.tfrecord"))) == 2
    shards.write_shards(sharded, 3)


def test_a_dataset_without_shards_says_how_to_write_them(tmp_path: Path) -> None:
    folder = write_fixture_dataset(tmp_path / "plain")
    with pytest.raises(dataset.MissingDatasetError, match="--shards N"):
        shards.shard_files(folder, "train")


def test_streamed_batches_are_the_in_memory_batches(sharded: Path) -> None:
    """Same rows, seed and recipe: the stream from shards feeds the model exactly what memory does.

    Augmentation and mixup are off: their random state is shared by parallel map calls, so
    which batch gets which draw is not fixed, in memory either (two in-memory runs differ
    the same way).
    """
    recipe = train.Recipe(balance="none", redraw_per_class=0, batch_size=16, steps_per_epoch=4, augment=False,
                          mixup=0.0)
    in_memory, memory_val, memory_steps = train.training_inputs(train.load_splits(sharded), recipe)
    streamed, streamed_val, streamed_steps = train.shard_inputs(train.load_splits(sharded, mmap=True), recipe, sharded)
    assert memory_steps == streamed_steps
    # Seven batches run past the 100 training rows: the reshuffled second pass matches too.
    for (memory_images, memory_targets), (stream_images, stream_targets) in zip(
            in_memory.take(7), streamed.take(7), strict=True):
        # Labels one-hot over the named negatives (label smoothing's form): identical too.
        assert memory_targets.shape == (16, len(NAMED) + len(NEGATIVE_KINDS))
        np.testing.assert_array_equal(stream_images.numpy(), memory_images.numpy())
        np.testing.assert_array_equal(stream_targets.numpy(), memory_targets.numpy())
    for memory_batch, stream_batch in zip(memory_val, streamed_val, strict=True):
        for memory_part, stream_part in zip(memory_batch, stream_batch, strict=True):
            np.testing.assert_array_equal(memory_part.numpy(), stream_part.numpy())


def test_shards_refuse_the_recipe_parts_that_need_the_whole_split(sharded: Path) -> None:
    splits = train.load_splits(sharded, mmap=True)
    with pytest.raises(ValueError, match=r"balance must be 'none'; redraw_per_class must be 0"):
        train.shard_inputs(splits, train.Recipe(), sharded)
    with pytest.raises(ValueError, match=r"keep_best_epoch must be False"):
        train.check_run_choices(train.Recipe(keep_best_epoch=True), "multiworker", "memory")
    with pytest.raises(ValueError, match=r"--data-format memory"):
        train.check_run_choices(train.Recipe(), "none", "shards")  # Before any data is read.
    streamable = train.Recipe(balance="none", redraw_per_class=0)
    train.check_run_choices(dataclasses.replace(streamable, keep_best_epoch=True), "none", "shards")
    train.check_run_choices(streamable, "multiworker", "shards")


def test_a_multiworker_run_needs_its_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    from training import distributed

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        distributed.make_strategy("multiworker")


# A tiny recipe with nothing random per replica (dropout, augmentation, mixup draw per
# device), so one worker and two must reach the same weights up to float rounding. The
# second epoch is long enough (30 steps) for the test to kill a worker in it.
DETERMINISTIC_FLAGS = ("--data-format", "shards", "--epochs", "2", "--steps-per-epoch", "30", "--batch-size", "16",
                       "--balance", "none", "--redraw-per-class", "0", "--conv-filters", "8,16",
                       "--dense-units", "16", "--augment", "false", "--mixup", "0", "--conv-dropout", "0",
                       "--dense-dropout", "0", "--verbose", "2")


def worker_process(launcher: subprocess.Popen, index: int) -> int | None:
    """The pid of the launcher's worker ``index`` (read from its TF_CONFIG), or None."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environment = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # Gone meanwhile, or not ours to read.
        config = next((item[len(b"TF_CONFIG="):] for item in environment if item.startswith(b"TF_CONFIG=")), None)
        if parent == launcher.pid and config and json.loads(config)["task"]["index"] == index:
            return int(entry.name)
    return None


@pytest.mark.slow
def test_two_workers_one_of_them_killed_train_the_model_one_worker_trains(sharded: Path, tmp_path: Path) -> None:
    """One worker, and two with worker 1 SIGKILLed after the first epoch: the same model, and the run completes."""
    import keras

    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    runs = {}
    launches = {}
    for workers in (1, 2):
        runs[workers] = tmp_path / f"workers-{workers}"
        command = [sys.executable, "-m", "training", "launch", "--workers", str(workers), "--",
                   "--data", str(sharded), "--out", str(runs[workers]), *DETERMINISTIC_FLAGS]
        # Both launches at once: the test waits for the slower, not for the sum.
        launches[workers] = subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True)
    # Once the first epoch is checkpointed, kill worker 1 of the pair mid-run.
    checkpoint = runs[2] / "backup" / "checkpoint"
    while not checkpoint.is_file() and launches[2].poll() is None:
        time.sleep(0.05)
    victim = worker_process(launches[2], 1)
    assert victim is not None, "worker 1 of the pair was gone before its first epoch was checkpointed"
    os.kill(victim, signal.SIGKILL)
    outputs = {}
    for workers, process in launches.items():
        outputs[workers], _ = process.communicate(timeout=600)
        assert process.returncode == 0, outputs[workers][-3000:]
    assert "worker 1 was killed" in outputs[2] and "resumed from" in outputs[2]
    assert "epoch 2/2" in outputs[2]

    metrics = {workers: json.loads((folder / "metrics.json").read_text()) for workers, folder in runs.items()}
    for workers in (1, 2):
        assert (metrics[workers]["strategy"], metrics[workers]["workers"]) == ("multiworker", workers)
        assert metrics[workers]["data_format"] == "shards" and metrics[workers]["images_per_second"] > 0
        assert not (runs[workers] / "backup").exists()  # A finished run is not resumed.
        assert len((runs[workers] / "history.csv").read_text().splitlines()) == 1 + 2  # Both epochs reported.
    assert metrics[1]["count"] == metrics[2]["count"] == 25  # The whole test split, scored once.
    one, two = (keras.models.load_model(runs[workers] / "model.keras", compile=False) for workers in (1, 2))
    for weights_one, weights_two in zip(one.get_weights(), two.get_weights(), strict=True):
        np.testing.assert_allclose(weights_two, weights_one, rtol=0, atol=1e-5)
    assert metrics[2]["accuracy"] == metrics[1]["accuracy"]
    assert metrics[2]["validation"]["accuracy"] == metrics[1]["validation"]["accuracy"]

"""Training throughput: our in-memory tf.data pipeline against the seed's folder of JPEGs.

The seed trained from ``shapes/<class>/*.jpg`` read by ``keras.utils.image_dataset_from_directory``,
decoding every image on every epoch. We keep the uint8 arrays in memory and batch them in
tf.data. Both feed the same architecture the same number of steps here, so the ratio is
the pipeline's alone; the default architecture's own figure (with augmentation) is beside.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.fixtures import REPO


def _time_fit(model: Any, dataset: Any, steps: int, warm_up_steps: int, batch_size: int) -> dict[str, float]:
    """Images per second of ``model.fit`` over ``steps`` batches, after a warm-up fit."""
    model.fit(dataset, steps_per_epoch=warm_up_steps, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    return {"images_per_second": round(steps * batch_size / seconds, 1), "seconds": round(seconds, 2),
            "steps": steps, "batch_size": batch_size}


def _time_input(dataset: Any, steps: int, batch_size: int) -> dict[str, float]:
    """Images per second the input pipeline alone delivers (no model), after one warm-up batch."""
    iterator = iter(dataset)
    next(iterator)
    started = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    seconds = time.perf_counter() - started
    return {"images_per_second": round(steps * batch_size / seconds, 1), "seconds": round(seconds, 2),
            "steps": steps, "batch_size": batch_size}


def _compiled(arch: str, num_classes: int, learning_rate: float) -> Any:
    """A fresh model of the named architecture, compiled as training does."""
    import keras

    from training.model import build_model

    keras.utils.set_random_seed(1337)
    model = build_model(arch, num_classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def _folder_dataset(dataset_dir: Path, folder: Path, batch_size: int) -> Any:
    """The seed's input: JPEG files decoded by image_dataset_from_directory on every pass."""
    import keras

    subprocess.run([sys.executable, "-m", "training", "export-folders", "--data", str(dataset_dir),
                    "--out", str(folder), "--format", "jpg"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    dataset = keras.utils.image_dataset_from_directory(
        folder / "shapes", color_mode="grayscale", image_size=(28, 28), batch_size=batch_size,
        label_mode="int", shuffle=True, seed=1337, verbose=False)
    return dataset.map(lambda images, labels: (images / 255.0, labels)).repeat()


def bench_training(dataset_dir: Path, steps: int = 150, warm_up_steps: int = 20) -> dict[str, Any]:
    """Images per second for seed and default architectures, and the seed's folder pipeline."""
    from training import pipeline
    from training.dataset import load_info, load_split
    from training.train import BASE_RECIPES

    info = load_info(dataset_dir)
    images, labels = load_split(dataset_dir, "train", mmap=False)
    num_classes = len(info["categories"])
    results: dict[str, Any] = {"train_rows": int(len(labels))}

    seed_recipe = BASE_RECIPES["seed"]
    ours = pipeline.training_dataset(images, labels, num_classes, seed_recipe.batch_size, 1337, balance="none")
    results["input_only_our_pipeline"] = _time_input(ours, steps * 4, seed_recipe.batch_size)
    results["seed_arch_our_pipeline"] = _time_fit(
        _compiled("seed", num_classes, seed_recipe.learning_rate), ours, steps, warm_up_steps, seed_recipe.batch_size)
    with tempfile.TemporaryDirectory() as folder:
        folders = _folder_dataset(dataset_dir, Path(folder), seed_recipe.batch_size)
        results["input_only_seed_folder_pipeline"] = _time_input(folders, steps * 4, seed_recipe.batch_size)
        results["seed_arch_seed_folder_pipeline"] = _time_fit(
            _compiled("seed", num_classes, seed_recipe.learning_rate), folders, steps, warm_up_steps,
            seed_recipe.batch_size)

    default_recipe = BASE_RECIPES["default"]
    augmentations = pipeline.augmentation_layers(
        default_recipe.rotation, (-default_recipe.zoom_in, default_recipe.zoom_out), default_recipe.translation, 1337)
    augmented = pipeline.training_dataset(images, labels, num_classes, default_recipe.batch_size, 1337,
                                          default_recipe.balance, augmentations)
    results["default_arch_our_pipeline"] = _time_fit(
        _compiled("default", num_classes, default_recipe.learning_rate), augmented, steps, warm_up_steps,
        default_recipe.batch_size)
    results["input_only_speedup"] = round(
        results["input_only_our_pipeline"]["images_per_second"]
        / results["input_only_seed_folder_pipeline"]["images_per_second"], 2)
    results["pipeline_speedup_same_arch"] = round(
        results["seed_arch_our_pipeline"]["images_per_second"]
        / results["seed_arch_seed_folder_pipeline"]["images_per_second"], 2)
    return results


def time_make_train() -> dict[str, Any]:
    """Wall time of ``make train`` (data, default recipe, seed recipe, comparison), end to end.

    The default model goes to a temporary folder: the shipped ``models/default`` must keep
    matching the exported web model.
    """
    with tempfile.TemporaryDirectory() as model_dir:
        started = time.perf_counter()
        completed = subprocess.run(["make", "train", f"MODEL_DIR={model_dir}"], cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"make train failed:\n{completed.stderr[-2000:]}")
    return {"seconds": round(seconds, 1), "minutes": round(seconds / 60, 2)}


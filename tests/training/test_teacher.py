"""The teacher (DoodleNet): loaded right, mapped onto our categories, and used by training as documented."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from preprocessing.categories import DEFAULT_CATEGORIES, WARDROBE_CATEGORIES, all_categories
from training import teacher

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "quickdraw" / "numpy_bitmap"


def test_the_teacher_and_its_license_are_in_the_repository() -> None:
    assert "MIT License" in (teacher.DOODLENET_DIR / "LICENSE").read_text()
    assert "first 50,000" in (teacher.DOODLENET_DIR.parent / "README.md").read_text()


def test_its_outputs_are_quick_draws_categories_and_cover_both_sets() -> None:
    names = teacher.categories()
    assert len(names) == 345 and set(names) == set(all_categories())
    assert "smiley face" in names and "The Eiffel Tower" in names  # Spaces, not underscores.
    for category_set in (DEFAULT_CATEGORIES, WARDROBE_CATEGORIES):
        order = teacher.output_order(category_set)
        assert [names[index] for index in order[:len(category_set)]] == list(category_set)
        assert sorted(order) == list(range(345))
    with pytest.raises(ValueError, match="no output for"):
        teacher.indices(["bowtie", "hoverboard"])


def test_negative_kinds_find_their_own_outputs_after_the_sets() -> None:
    positions = teacher.kind_positions(DEFAULT_CATEGORIES, ["house", "cup"])
    order = teacher.output_order(DEFAULT_CATEGORIES)
    assert all(position >= len(DEFAULT_CATEGORIES) for position in positions)
    assert [teacher.categories()[order[position]] for position in positions] == ["house", "cup"]


@pytest.mark.slow
def test_the_loaded_weights_recognise_real_drawings() -> None:
    """Wrong weights (or a wrong order) would make this chance level: 1 in 345."""
    model = teacher.load()
    for name in ("bowtie", "umbrella", "lipstick"):
        rows = np.load(FIXTURE / f"{name}.npy").reshape(-1, 28, 28, 1).astype(np.float32) / 255.0
        top = np.asarray(model.predict(rows, verbose=0)).argmax(axis=1)
        assert np.mean([teacher.categories()[index] == name for index in top]) >= 0.6, name
    # Re-ordered for a set, the same weights answer the same drawing with the set's index first.
    reordered = teacher.load_for(DEFAULT_CATEGORIES, name="reordered")
    rows = np.load(FIXTURE / "bowtie.npy")[:8].reshape(-1, 28, 28, 1).astype(np.float32) / 255.0
    original = np.asarray(model.predict(rows, verbose=0))
    assert np.allclose(np.asarray(reordered.predict(rows, verbose=0)),
                       original[:, teacher.output_order(DEFAULT_CATEGORIES)], atol=1e-6)


def test_distillation_keeps_our_labels_and_gives_other_drawings_the_teachers_view() -> None:
    import keras
    import tensorflow as tf

    from training import pipeline

    # A stand-in teacher over 2 named + 3 other units that always answers the same view.
    view = np.array([[0.5, 0.2, 0.1, 0.1, 0.1]], np.float32)
    inputs = keras.Input((28, 28, 1))
    stand_in = keras.Model(inputs, keras.ops.zeros_like(keras.ops.mean(inputs, axis=(1, 2, 3)))[:, None]
                           + keras.ops.convert_to_tensor(view))
    soften = pipeline.make_distillation(stand_in, num_named=2, weight=0.5)
    images = tf.zeros((3, 28, 28, 1))
    targets = tf.constant([[1, 0, 0, 0, 0],            # A named drawing keeps its label.
                           [0, 0, 0, 1, 0],            # Another kind: half its own, half the view.
                           [0.5, 0, 0, 0, 0.5]], tf.float32)  # A blend of the two.
    _, softened = soften(images, targets)
    softened = softened.numpy()
    assert np.allclose(softened.sum(axis=1), 1.0)
    assert np.allclose(softened[0], [1, 0, 0, 0, 0])
    # The teacher's view among the other units only (its 0.7 on named units is dropped).
    assert np.allclose(softened[1], [0, 0, 0.5 / 3, 0.5 + 0.5 / 3, 0.5 / 3])
    assert np.allclose(softened[2], [0.5, 0, 0.25 / 3, 0.25 / 3, 0.25 + 0.25 / 3])


def test_render_jitter_changes_line_weight_but_keeps_the_drawing() -> None:
    import tensorflow as tf

    from training import pipeline

    images = np.zeros((64, 28, 28, 1), np.float32)
    images[:, 8:20, 14] = 1.0  # A 1-px vertical line.
    jittered, _ = pipeline.make_render_jitter(0.8, seed=5)(tf.constant(images), tf.zeros(64))
    jittered = jittered.numpy()
    assert jittered.shape == images.shape and jittered.min() >= 0 and np.allclose(jittered.max(axis=(1, 2, 3)), 1)
    ink = jittered.sum(axis=(1, 2, 3))
    assert ink.max() > images[0].sum() * 1.3  # Some drawings got thicker ...
    assert ink.min() < ink.max() * 0.8  # ... and not all alike.
    assert np.all(jittered[:, 8:20, 14, 0] > 0.3)  # The line itself is always still there.


def test_line_weight_variants_are_uint8_drawings_of_the_same_thing() -> None:
    from training.arrays import line_weight_variants

    images = np.zeros((2, 28, 28), np.uint8)
    images[:, 6:22, 10] = 255
    variants = line_weight_variants(images)
    assert set(variants) == {"thicker", "thinner", "blurred"}
    for name, variant in variants.items():
        assert variant.dtype == np.uint8 and variant.shape == images.shape and variant.max() == 255, name
    assert (variants["thicker"] > 0).sum() > (images > 0).sum()


def test_a_teacher_needs_a_dataset_with_negatives_and_a_student_needs_a_teacher(tmp_path: Path) -> None:
    from training import train

    with pytest.raises(ValueError, match="needs a teacher"):
        train.validate_recipe(train.Recipe(student="teacher"))
    with pytest.raises(ValueError, match="hard negatives"):
        train.validate_recipe(train.Recipe(teacher="doodlenet", hard_negative_epochs=2))
    assert train.validate_recipe(train.Recipe(teacher="doodlenet", student="teacher", epochs=0)).epochs == 0
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        train.validate_recipe(train.Recipe(epochs=0))


@pytest.mark.slow
def test_a_student_of_the_teacher_trains_into_the_products_outputs(tmp_path: Path) -> None:
    """A tiny run: circles and lines named, squares as the "house" kind, taught by DoodleNet."""
    from training import evaluate, train
    from training.dataset import SPLITS

    test_train = _test_train_module()
    folder = test_train.write_dataset(tmp_path / "dataset", seed=4)
    info = json.loads((folder / "dataset.json").read_text())
    for split in SPLITS:
        labels = np.load(folder / f"{split}_y.npy")
        np.save(folder / f"{split}_other.npy", np.where(labels == 2, 0, -1).astype(np.int16))
    info["categories"] = ["circle", "line"]
    info["other"] = {"label": "other", "categories": ["house"], "unseen": [], "missing": [],
                     "per_category": 10, "counts": {}}
    (folder / "dataset.json").write_text(json.dumps(info))
    recipe = dataclasses.replace(test_train.TINY_RECIPE, other_targets="named", teacher="doodlenet",
                                 student="teacher", epochs=1, steps_per_epoch=3, render_jitter=0.3,
                                 learning_rate=1e-4)
    card = train.train(recipe, folder, tmp_path / "run", verbose=0)
    assert card["outputs"] == ["circle", "line", "other"]
    assert card["teacher"]["name"] == "DoodleNet" and card["recipe"]["student"] == "teacher"
    model = evaluate.load_model(tmp_path / "run")
    assert model.output_shape == (None, 3) and model.count_params() == 544_201
    assert set(card["metrics"]["rejection"]["by_line_weight"]) == {"as stored", "thicker", "thinner", "blurred"}
    # Before training, the student answers exactly what the teacher does, grouped for the set.
    start = train.prepare_model(dataclasses.replace(recipe, flip_average=False), ["circle", "line"], None,
                                ["circle", "line", "other"], 345)
    images = np.load(folder / "test_x.npy")[:6]
    grouped = evaluate.predict_probabilities(start, images)
    taught = evaluate.predict_probabilities(teacher.load(), images)
    named = taught[:, teacher.indices(["circle", "line"])]
    assert np.allclose(grouped, np.concatenate([named, 1 - named.sum(axis=1, keepdims=True)], axis=1), atol=1e-5)


def _test_train_module():
    """tests/training/test_train.py, for its tiny dataset writer and recipe."""
    from importlib import util

    path = Path(__file__).with_name("test_train.py")
    module_spec = util.spec_from_file_location("training_tests_test_train_for_teacher", path)
    module = util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module

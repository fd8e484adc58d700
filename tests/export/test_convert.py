"""The exporter: files, metadata, quantization choice, and clear refusals."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from export.convert import (
    AUTO,
    ExportError,
    check_categories,
    choose_quantization,
    export_model,
    save_served_keras,
    score,
    version_hash,
    weights_bytes,
)
from export.quantization import apply_to_model
from preprocessing import served
from preprocessing.model_metadata import load_metadata
from preprocessing.spec import spec_dict
from training.categories import DEFAULT_CATEGORIES, WARDROBE_CATEGORIES


def _option(quantization: str | None, size: int, drop: float | None) -> dict[str, Any]:
    """One measured option, as export_model reports it."""
    return {"quantization": quantization, "weights_bytes": size, "macro_accuracy_drop_pp": drop}


MEASURED = [_option(None, 4000, 0.0), _option("float16", 2000, 0.1), _option("uint8", 1000, 0.5)]


@pytest.mark.parametrize(
    ("tolerance_pp", "expected"),
    [(0.2, "float16"), (0.5, "uint8"), (1.0, "uint8"), (0.05, None), (0.0, None)],
)
def test_auto_picks_the_smallest_option_within_the_tolerance(tolerance_pp: float, expected: str | None) -> None:
    assert choose_quantization(MEASURED, AUTO, tolerance_pp, allow_accuracy_drop=False) == expected


def test_an_explicit_option_that_loses_too_much_fails_loudly() -> None:
    with pytest.raises(ExportError, match=r"uint8 quantization loses 0.50 points.*--allow-accuracy-drop"):
        choose_quantization(MEASURED, "uint8", 0.2, allow_accuracy_drop=False)
    assert choose_quantization(MEASURED, "uint8", 0.2, allow_accuracy_drop=True) == "uint8"
    assert choose_quantization(MEASURED, "float16", 0.2, allow_accuracy_drop=False) == "float16"


def test_an_explicit_option_without_a_test_split_is_not_judged() -> None:
    unmeasured = [_option(None, 4000, None), _option("uint8", 1000, None)]
    assert choose_quantization(unmeasured, "uint8", 0.2, allow_accuracy_drop=False) == "uint8"


def test_categories_must_match_the_card_and_default_to_the_sets() -> None:
    assert check_categories(DEFAULT_CATEGORIES, None) == list(DEFAULT_CATEGORIES)
    assert check_categories(WARDROBE_CATEGORIES, None, "wardrobe") == list(WARDROBE_CATEGORIES)
    with pytest.raises(ExportError, match=r"the 'wardrobe' set's"):
        check_categories(DEFAULT_CATEGORIES, None, "wardrobe")
    assert check_categories(["bowtie", "sock"], ["bowtie", "sock"]) == ["bowtie", "sock"]
    with pytest.raises(ExportError, match=r"pass --categories bowtie,sock"):
        check_categories(["bowtie", "sock"], None)
    with pytest.raises(ExportError, match=r"--categories \['sock', 'bowtie'\] differ from the model card's"):
        check_categories(["bowtie", "sock"], ["sock", "bowtie"])


@pytest.mark.slow
@pytest.mark.parametrize("quantization", [None, "float16", "uint8"])
def test_export_writes_a_graph_model_and_valid_metadata(
    exported: Callable[[str | None], Path], tiny_run: Path, quantization: str | None
) -> None:
    web_dir = exported(quantization)
    model_json = json.loads((web_dir / "model.json").read_text())
    assert model_json["format"] == "graph-model"
    shards = [web_dir / name for group in model_json["weightsManifest"] for name in group["paths"]]
    assert shards and all(shard.is_file() for shard in shards)
    assert sorted(path.name for path in web_dir.iterdir()) == sorted(["model.json", "metadata.json", "model.keras",
                                                                      *(shard.name for shard in shards)])
    assert (web_dir.parent / "CURRENT").read_text().strip() == web_dir.name
    stored = {spec.get("quantization", {}).get("dtype") for group in model_json["weightsManifest"]
              for spec in group["weights"] if spec["dtype"] == "float32"}
    assert stored == {quantization}

    metadata = load_metadata(web_dir, DEFAULT_CATEGORIES)
    assert metadata["quantization"] == quantization
    assert metadata["preprocessing"] == spec_dict()
    assert metadata["version"] == web_dir.name == version_hash(web_dir, {
        "set": "accessories", "categories": list(DEFAULT_CATEGORIES), "outputs": list(DEFAULT_CATEGORIES),
        "decision": metadata["decision"]})
    assert (metadata["set"], metadata["title"]) == ("accessories", "6 accessories")
    assert metadata["outputs"] == list(DEFAULT_CATEGORIES) and metadata["decision"]["other_label"] is None
    assert metadata["metrics"] == json.loads((tiny_run / "model_card.json").read_text())["metrics"]
    assert metadata["keras_model_sha256"] == hashlib.sha256((web_dir / "model.keras").read_bytes()).hexdigest()
    assert metadata["source_keras_model_sha256"] == hashlib.sha256((tiny_run / "model.keras").read_bytes()).hexdigest()
    report = metadata["quantization_report"]
    assert report["chosen"] == quantization and report["mode"] == "explicit"
    sizes = {option["quantization"]: option["weights_bytes"] for option in report["options"]}
    assert sizes[quantization] == weights_bytes(web_dir)
    assert sizes["uint8"] < sizes["float16"] < sizes[None]


@pytest.mark.slow
@pytest.mark.parametrize("quantization", ["float16", "uint8"])
def test_the_served_keras_twin_holds_the_browsers_weights(
    exported: Callable[[str | None], Path], tiny_model: Any, parity_images: np.ndarray, quantization: str
) -> None:
    """model.keras in the version folder predicts what apply_to_model predicts: the server needs no export code."""
    import keras

    twin = keras.models.load_model(exported(quantization) / "model.keras", compile=False)
    images = parity_images[:200]
    expected = apply_to_model(tiny_model, quantization).predict(images, verbose=0)
    np.testing.assert_allclose(twin.predict(images, verbose=0), expected, rtol=0, atol=1e-6)
    assert not np.allclose(tiny_model.predict(images, verbose=0), expected, rtol=0, atol=1e-7)


def test_the_served_twin_carries_no_training_state(tmp_path: Path, tiny_model: Any, parity_images: np.ndarray) -> None:
    """A classifier trained with Adam and wrapped twice (as training wraps it) is served without the Adam slots."""
    import keras

    images = parity_images[:32]
    classifier = keras.models.clone_model(tiny_model)
    classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    classifier.fit(images, np.arange(len(images)) % len(DEFAULT_CATEGORIES), epochs=1, verbose=0)
    middle_input = keras.Input(shape=images.shape[1:], name="bitmap")
    middle = keras.Model(middle_input, classifier(middle_input), name="middle")
    outer_input = keras.Input(shape=images.shape[1:], name="bitmap")
    trained = keras.Model(outer_input, middle(outer_input), name="outer")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    trained.save(run_dir / "model.keras")
    # Loaded as export loads it: the nested classifier comes back compiled, optimizer and all.
    loaded = keras.models.load_model(run_dir / "model.keras", compile=False)

    path = tmp_path / "model.keras"
    save_served_keras(loaded, "uint8", path)
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode()
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            stored: list[str] = []
            weights.visititems(lambda name, item: stored.append(name) if isinstance(item, h5py.Dataset) else None)
    assert stored and not [name for name in stored if "optimizer" in name]
    assert "\"optimizer\"" not in config and "Adam" not in config
    weights_bytes_float32 = 4 * trained.count_params()
    assert path.stat().st_size < weights_bytes_float32 + 64 * 1024
    assert (run_dir / "model.keras").stat().st_size > weights_bytes_float32 * 2  # The Adam slots the twin drops.
    served_twin = keras.models.load_model(path)
    np.testing.assert_allclose(served_twin.predict(images, verbose=0),
                               apply_to_model(trained, "uint8").predict(images, verbose=0), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_versions_differ_between_quantizations(exported: Callable[[str | None], Path]) -> None:
    versions = {load_metadata(exported(option))["version"] for option in (None, "float16", "uint8")}
    assert len(versions) == 3


@pytest.mark.slow
def test_auto_measures_every_option_and_keeps_the_smallest_within_tolerance(
    tmp_path: Path, tiny_run: Path, tiny_model: Any, parity_images: np.ndarray
) -> None:
    # A test split labelled by the float model itself: float32 scores 100%.
    data_dir = tmp_path / "dataset"
    data_dir.mkdir()
    images = parity_images[:300]
    np.save(data_dir / "test_x.npy", np.round(images[..., 0] * 255).astype(np.uint8))
    np.save(data_dir / "test_y.npy", tiny_model.predict(np.round(images * 255) / 255, verbose=0).argmax(axis=1))
    lines: list[str] = []
    metadata = export_model(tiny_run, tmp_path / "served", quantization=AUTO, tolerance_pp=0.5,
                            data_dir=data_dir, parity_count=50, log=lines.append)
    report = metadata["quantization_report"]
    assert report["mode"] == "auto" and report["evaluated_on"].endswith("(300 bitmaps)")
    by_option = {option["quantization"]: option for option in report["options"]}
    assert by_option[None]["macro_accuracy"] == pytest.approx(1.0)
    within = [option for option in report["options"] if option["macro_accuracy_drop_pp"] <= 0.5]
    assert metadata["quantization"] == min(within, key=lambda option: option["weights_bytes"])["quantization"]
    assert metadata["parity"]["passed"] and metadata["parity"]["runtimes"]["node"]["count"] == 50
    printed = "\n".join(lines)
    assert "macro accuracy" in printed and "<- chosen" in printed and "node (wasm)" in printed


@pytest.mark.slow
def test_auto_without_a_test_split_says_what_to_do(tmp_path: Path, tiny_run: Path) -> None:
    with pytest.raises(ExportError, match=r"test split.*make data.*--quantization"):
        export_model(tiny_run, tmp_path / "served", data_dir=tmp_path / "nowhere", log=lambda message: None)
    assert not (tmp_path / "served").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("shape", "card_categories", "requested", "message"),
    [
        ({"num_classes": 5}, None, None, r"output shape \(None, 5\) but 6 categories"),
        ({"num_classes": 6}, [*DEFAULT_CATEGORIES, "other"], None, r"output shape \(None, 6\) but 7 categories"),
        ({"input_shape": (32, 32, 1)}, None, None, r"input shape is \(None, 32, 32, 1\)"),
        ({}, None, ["bowtie", "sock"], r"differ from the model card's"),
        ({"num_classes": 2}, ["bowtie", "sock"], None, r"pass --categories bowtie,sock"),
    ],
)
def test_mismatched_models_are_refused_before_anything_is_written(
    tmp_path: Path, build_model: Callable[..., Any], make_run: Callable[..., Path], shape: dict[str, Any],
    card_categories: list[str] | None, requested: list[str] | None, message: str,
) -> None:
    run = make_run(tmp_path / "run", build_model(**shape), card_categories)
    with pytest.raises(ExportError, match=message):
        export_model(run, tmp_path / "served", quantization=None, categories=requested, data_dir=None,
                     parity_count=0, log=lambda message: None)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]


@pytest.mark.slow
def test_other_categories_export_when_named(
    tmp_path: Path, build_model: Callable[..., Any], make_run: Callable[..., Path]
) -> None:
    run = make_run(tmp_path / "run", build_model(num_classes=2), ["bowtie", "sock"])
    with pytest.raises(ExportError, match="give it a --title"):
        export_model(run, tmp_path / "served", set_name="pair", categories=["bowtie", "sock"], quantization=None,
                     data_dir=None, parity_count=0, log=lambda message: None)
    metadata = export_model(run, tmp_path / "served", set_name="pair", title="Two things", quantization="float16",
                            categories=["bowtie", "sock"], data_dir=None, parity_count=20, log=lambda message: None)
    assert metadata["categories"] == ["bowtie", "sock"]
    version_dir = tmp_path / "served" / "pair" / metadata["version"]
    assert load_metadata(version_dir, ["bowtie", "sock"])["quantization"] == "float16"
    assert (metadata["set"], metadata["title"]) == ("pair", "Two things")


@pytest.mark.slow
def test_a_model_with_a_none_of_these_output_exports_other_and_its_decision(
    tmp_path: Path, build_model: Callable[..., Any], make_run: Callable[..., Path]
) -> None:
    """A card whose categories end in "other" gives outputs = categories + ["other"] and other_label "other"."""
    run = make_run(tmp_path / "run", build_model(num_classes=7), [*DEFAULT_CATEGORIES, "other"])
    card = json.loads((run / "model_card.json").read_text())
    card["decision"] = {"reject_below": 0.4, "unsure_below": 0.7}
    (run / "model_card.json").write_text(json.dumps(card))
    metadata = export_model(run, tmp_path / "served", quantization=None, data_dir=None, parity_count=0,
                            log=lambda message: None)
    assert metadata["categories"] == list(DEFAULT_CATEGORIES)
    assert metadata["outputs"] == [*DEFAULT_CATEGORIES, "other"]
    assert metadata["decision"] == {"other_label": "other", "reject_below": 0.4, "unsure_below": 0.7,
                                    "min_extent": 12.0}


@pytest.mark.slow
def test_missing_model_or_card_is_reported(tmp_path: Path, tiny_run: Path) -> None:
    with pytest.raises(ExportError, match=r"no Keras model at .*make train"):
        export_model(tmp_path, tmp_path / "served", quantization=None, log=lambda message: None)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_bytes((tiny_run / "model.keras").read_bytes())
    with pytest.raises(ExportError, match="no model card"):
        export_model(tmp_path / "run", tmp_path / "served", quantization=None, log=lambda message: None)


@pytest.mark.slow
def test_a_failed_export_leaves_the_current_version_in_place(
    tmp_path: Path, tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "served"
    first = export_model(tiny_run, out, quantization="float16", data_dir=None, parity_count=0,
                         log=lambda message: None)["version"]
    before = sorted(path.name for path in (out / "accessories").iterdir())

    def broken_parity(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ExportError("parity broke halfway")

    monkeypatch.setattr("export.parity.check_parity", broken_parity)
    with pytest.raises(ExportError, match="parity broke halfway"):
        export_model(tiny_run, out, quantization="uint8", data_dir=None, parity_count=10, log=lambda message: None)
    assert served.read_current(out, "accessories") == first
    # No staging folder left behind, no half version.
    assert sorted(path.name for path in (out / "accessories").iterdir()) == before


@pytest.mark.slow
def test_versions_are_kept_and_can_be_promoted_back(tmp_path: Path, tiny_run: Path) -> None:
    """A second export adds a version and makes it current; the first stays and rollback returns to it."""
    out = tmp_path / "served"
    quiet = {"data_dir": None, "parity_count": 0, "log": lambda message: None}
    first = export_model(tiny_run, out, quantization="float16", **quiet)["version"]
    held = export_model(tiny_run, out, quantization=None, promote=False, **quiet)["version"]
    assert served.read_current(out, "accessories") == first
    second = export_model(tiny_run, out, quantization="uint8", **quiet)["version"]
    assert served.read_current(out, "accessories") == second
    assert set(served.list_versions(out, "accessories")) == {first, held, second}
    assert served.rollback(out, "accessories") == first
    assert served.read_current(out, "accessories") == first


def test_export_scores_the_macro_accuracy_training_reports():
    """One name, one figure: the exporter's macro accuracy is training's (named classes, "other" not counted)."""
    from training.evaluate import evaluate_model

    class Fixed:
        """A model whose answers are given: every accessory right, "other" drawings mostly taken for bowties."""

        output_shape = (None, 3)

        def predict(self, images, batch_size=None, verbose=0):
            return np.eye(3)[[0, 0, 1, 1, 2, 0, 0, 0]]

    images = np.zeros((8, 28, 28), dtype=np.uint8)
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    exported = score(Fixed(), images, labels, ["bowtie", "sock", "other"], ["bowtie", "sock"])
    trained = evaluate_model(Fixed(), images, labels, ["bowtie", "sock"], ["bowtie", "sock", "other"],
                             Fixed().predict(images))
    assert exported["macro_accuracy"] == trained["macro_accuracy"] == 1.0
    assert exported["accuracy"] == trained["accuracy"] == 0.625

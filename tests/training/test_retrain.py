"""Retraining: the dataset with contributions in their own slices, the CLI, and the poisoning test."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from training import arrays, build, dataset, gate, retrain, train
from training.__main__ import main

REPO = Path(__file__).resolve().parents[2]
SERVED_KERAS = REPO / "models" / "default" / "model.keras"
CATEGORIES = ("bowtie", "lipstick", "purse", "sock", "umbrella", "wristwatch")
NEGATIVES_SEEN = ("house", "smiley face", "pencil", "cookie", "cat", "tree", "car", "fish")
NEGATIVES_UNSEEN = ("star", "cloud")
POISON_COUNT = 300  # Umbrellas approved as "sock".
# How far each poisoned umbrella is turned, sheared and stretched before it is re-drawn: far
# enough to be a new drawing (near copies of base drawings are dropped, as they should be),
# near enough to stay an umbrella to the served model.
POISON_DISTORTION = 0.4


def write_bucket(root: Path, bitmaps: dict[str, np.ndarray]) -> Path:
    """A folder in the bucket layout (numpy_bitmap/<label>.npy), like `flask export-drawings` writes."""
    (root / "numpy_bitmap").mkdir(parents=True, exist_ok=True)
    for label, rows in bitmaps.items():
        np.save(root / "numpy_bitmap" / f"{label}.npy", np.asarray(rows, dtype=np.uint8).reshape(-1, 784))
    return root


def served_set(root: Path, version: str = "v1", keras_model: Path = SERVED_KERAS) -> Path:
    """A served model folder (contract §1) whose current version is ``keras_model`` (the shipped default model)."""
    folder = root / "accessories" / version
    folder.mkdir(parents=True)
    shutil.copy(keras_model, folder / retrain.SERVED_MODEL_FILE)
    (root / "accessories" / retrain.CURRENT_FILE).write_text(version + "\n")
    return root


@pytest.fixture
def small_base(tmp_path, fakes, quiet) -> Path:
    """A tiny base dataset of synthetic scribbles: 30 drawings of each category."""
    drawings = {name: fakes.scribbles(30, seed) for seed, name in enumerate(CATEGORIES)}
    raw = fakes.write_bucket(tmp_path / "raw", drawings)
    build.build(raw, tmp_path / "base", CATEGORIES, log=quiet)
    return tmp_path / "base"


def test_contributions_get_their_own_slices_and_the_base_test_stays_fixed(tmp_path, fakes, small_base, quiet):
    """Base test row for row; contributions split 70/10/20 by their bytes; copies of base drawings dropped."""
    base_train, _ = dataset.load_split(small_base, "train", mmap=False)
    base_test = dataset.load_split(small_base, "test", mmap=False)
    sock = CATEGORIES.index("sock")
    new_socks = fakes.bitmaps(fakes.scribbles(200, 99))
    copies = base_train[dataset.load_split(small_base, "train")[1] == sock][:5].reshape(-1, 784)
    contributions = write_bucket(tmp_path / "contributions",
                                 {"sock": np.concatenate([new_socks, copies, new_socks[:3]]),
                                  "other": new_socks[:4]})
    notes = []
    info = retrain.build_retraining_dataset(small_base, contributions, tmp_path / "merged", notes.append)

    merged_test = dataset.load_split(tmp_path / "merged", "test", mmap=False)
    assert np.array_equal(merged_test[0], base_test[0]) and np.array_equal(merged_test[1], base_test[1])
    counts = info["contributions"]["classes"]["sock"]
    assert counts["offered"] == 208 and counts["exact_duplicates"] == 8
    assert counts["train"] + counts["val"] + counts["test"] == 200
    assert 120 <= counts["train"] <= 160 and 8 <= counts["val"] <= 35 and 25 <= counts["test"] <= 60
    test_images, test_labels = retrain.load_contributions_test(tmp_path / "merged")
    assert len(test_images) == counts["test"] and set(test_labels) == {sock}
    train_images, train_labels = dataset.load_split(tmp_path / "merged", "train")
    assert len(train_labels) == len(base_train) + counts["train"]
    assert info["counts"]["train"]["sock"] == int((np.asarray(train_labels) == sock).sum())
    assert any("other" in note and "left out" in note for note in notes)
    # A drawing's slice depends on its bytes only: the same in a later, bigger export.
    assert [retrain.stable_split(bitmap) for bitmap in new_socks[:20].reshape(-1, 28, 28)] == \
        [retrain.stable_split(bitmap.copy()) for bitmap in new_socks[:20].reshape(-1, 28, 28)]


def test_without_contributions_the_dataset_is_the_base(tmp_path, small_base, quiet):
    """No contributions folder: the base splits, an empty contributions' test slice."""
    info = retrain.build_retraining_dataset(small_base, None, tmp_path / "merged", quiet)
    assert info["counts"]["train"] == dataset.load_info(small_base)["counts"]["train"]
    assert len(retrain.load_contributions_test(tmp_path / "merged")[0]) == 0


@pytest.mark.parametrize(("setup", "message"), [
    (lambda root: None, "CURRENT is missing"),
    (lambda root: (root / "accessories").mkdir(parents=True)
     or (root / "accessories" / "CURRENT").write_text("v9\n"), "has no model.keras"),
])
def test_served_model_errors(tmp_path, setup, message):
    """A missing CURRENT or version is one clear error."""
    setup(tmp_path)
    with pytest.raises(ValueError, match=message):
        retrain.served_model(tmp_path, "accessories")


def test_export_step_calls_the_store_for_approved_drawings(tmp_path, monkeypatch):
    """The export step runs `flask --app webapp export-drawings --status approved --out DIR` (contract §4)."""
    calls = []

    class Done:
        returncode, stdout, stderr = 0, "", ""

    monkeypatch.setattr(retrain.subprocess, "run", lambda command, **kwargs: calls.append(command) or Done())
    retrain.export_approved(tmp_path / "out")
    assert calls[0][1:] == ["--app", "webapp", "export-drawings", "--status", "approved",
                            "--out", str(tmp_path / "out")]
    Done.returncode, Done.stderr = 2, "Error: No such option: --status"
    with pytest.raises(ValueError, match="No such option"):
        retrain.export_approved(tmp_path / "out")


@pytest.mark.parametrize(("flags", "message"), [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--recall-tolerance", "-0.1"], "must be at least 0"),
])
def test_bad_flags(tmp_path, capsys, flags, message):
    """Bad values end with one error line and status 1."""
    assert main(["retrain", "--model-dir", str(tmp_path), *flags]) == 1
    assert message in capsys.readouterr().err


def test_rejection_rule():
    """Rejected: the "other" output wins, or the best accessory is below the threshold."""
    probabilities = np.array([[0.9, 0.1, 0.0], [0.4, 0.3, 0.3], [0.3, 0.1, 0.6]])
    without_other = np.array([[0.9, 0.1], [0.55, 0.45], [0.3, 0.3]])
    assert retrain.rejected(without_other, 2, 0.5).tolist() == [False, False, True]
    assert retrain.rejected(probabilities, 2, 0.35).tolist() == [False, False, True]


@pytest.mark.slow
def test_poisoned_contributions_are_refused(tmp_path, mirror, quickdrawjs_drawings, quiet):
    """300 umbrellas approved as "sock": the gate refuses the candidate, says why, and nothing is published."""
    rows = {name: np.load(mirror / "numpy_bitmap" / f"{name}.npy") for name in CATEGORIES}
    raw = write_bucket(tmp_path / "raw", rows)
    # The served model has a "none of these" output: its base dataset needs negatives (a few
    # categories, so that re-drawing them stays quick).
    build.build(raw, tmp_path / "base", CATEGORIES, quickdrawjs=quickdrawjs_drawings, log=quiet,
                negatives=(NEGATIVES_SEEN, NEGATIVES_UNSEEN), other_per_class=30, cache_dir=tmp_path / "cache")
    # The served model: a short run on this base (the shipped one learnt other negatives by name).
    train.train(dataclasses.replace(train.DEFAULT_RECIPE, epochs=4, steps_per_epoch=40, redraw_per_class=50,
                                    patience=4), tmp_path / "base", tmp_path / "served-run", verbose=0)
    served_root = served_set(tmp_path / "served", keras_model=tmp_path / "served-run" / "model.keras")
    published = []

    def export_poison(out: Path) -> None:
        """Stands in for the store's export: the approved contributions are umbrellas labelled sock."""
        umbrellas = rows["umbrella"].reshape(-1, 28, 28)
        poison, _ = arrays.redraw(umbrellas, np.zeros(len(umbrellas), np.int64), POISON_COUNT, seed=7,
                                  distortion=POISON_DISTORTION)
        write_bucket(out, {"sock": poison.reshape(len(poison), -1)})

    # Six epochs, so the candidate has learnt the poison (about a quarter of it called sock);
    # with three it called one drawing in 53 a sock, and the check below flipped with noise.
    config = retrain.RetrainConfig(
        model_dir=served_root, base_data=tmp_path / "base", out=tmp_path / "run", epochs=6,
        steps_per_epoch=100, redraw_per_class=50, quickdrawjs=quickdrawjs_drawings)
    result = retrain.retrain(config, exporter=export_poison,
                             publisher=lambda *args: published.append(args) or "v2", log=quiet)

    assert not result["promote"] and not result["published"] and published == []
    assert (served_root / "accessories" / "CURRENT").read_text().strip() == "v1"
    assert result["current_version"] == "v1"
    failed = [reason.split(" dropped")[0] for reason in result["reasons"]]
    # Refused, with the measured reason: the poisoned candidate gets worse at something the
    # gate judges (which slice shows it first depends on the tiny data; with the full mirror
    # it was umbrella recall on the base test).
    assert failed and all("worse" in reason or "dropped" in reason for reason in result["reasons"]), result["reasons"]
    # The poison looks like progress on its own test slice: the candidate calls them socks.
    assert result["candidate"]["contributions test"]["per_class"]["sock"]["recall"] > \
        result["served"]["contributions test"]["per_class"]["sock"]["recall"]
    # Other categories' test drawings are judged by rejection, apart from the accessories.
    assert "rejection_rate" in result["served"]["base test, other categories"]
    assert result["served"]["base test"]["count"] + result["served"]["base test, other categories"]["count"] == \
        len(dataset.load_split(tmp_path / "base", "test")[1])
    report = (tmp_path / "run" / "report.md").read_text()
    assert "**REFUSED**" in report and all(reason in report for reason in result["reasons"])
    assert "refused: the served version is unchanged" in report
    assert (tmp_path / "run" / "evaluation.json").is_file()


def test_gate_tolerances_reach_the_config(tmp_path):
    """Tolerance flags become the gate's Tolerances."""
    from training.__main__ import build_parser

    args = build_parser("retrain").parse_args(["retrain", "--recall-tolerance", "0.1", "--min-support", "5",
                                               "--dry-run", "--model-dir", str(tmp_path)])
    config = retrain.config_from_args(args)
    assert config.tolerances == gate.Tolerances(recall=0.1, min_support=5) and config.dry_run
    assert config.model_dir == tmp_path


def test_publish_exports_a_new_version_then_promotes_it(tmp_path, monkeypatch):
    """Publishing runs `python -m export` into the set, then `python -m export promote` on the new version."""
    set_dir = tmp_path / "served" / "accessories"
    (set_dir / "old").mkdir(parents=True)
    (set_dir / "old" / "metadata.json").write_text("{}")
    calls = []

    class Done:
        returncode = 0

    def fake_run(command, env):
        """Stands in for stream A's export: writes one new version folder."""
        calls.append((command[1:], env["MODEL_DIR"]))
        if "promote" not in command:
            (set_dir / "abc123def456").mkdir(exist_ok=True)
            (set_dir / "abc123def456" / "metadata.json").write_text("{}")
        return Done()

    monkeypatch.setattr(retrain.subprocess, "run", fake_run)
    assert retrain.export_and_promote(tmp_path / "candidate", set_dir, tmp_path / "data") == "abc123def456"
    served_root = tmp_path / "served"
    assert calls[0][0] == ["-m", "export", "--model", str(tmp_path / "candidate"), "--out", str(served_root),
                           "--set", "accessories", "--no-promote", "--data", str(tmp_path / "data")]
    assert calls[1][0] == ["-m", "export", "promote", "abc123def456", "--set", "accessories",
                           "--served", str(served_root)]
    # The flags are the exporter's own: its parsers accept both commands.
    from export.__main__ import export_parser, versions_parser
    export_parser().parse_args(calls[0][0][2:])
    assert versions_parser("promote").parse_args(calls[1][0][3:]).version == "abc123def456"
    assert calls[0][1] == str(tmp_path / "served")
    Done.returncode = 3
    with pytest.raises(ValueError, match="exit status 3"):
        retrain.export_and_promote(tmp_path / "candidate", set_dir, tmp_path / "data")


@pytest.fixture
def stub_served(tmp_path) -> Path:
    """A served folder whose current version v1 serves with reject_below 0.4 (a stub model file)."""
    served_root = tmp_path / "served"
    (served_root / "accessories" / "v1").mkdir(parents=True)
    (served_root / "accessories" / "v1" / "model.keras").write_bytes(b"stub")
    (served_root / "accessories" / "v1" / "metadata.json").write_text('{"decision": {"reject_below": 0.4}}')
    (served_root / "accessories" / "CURRENT").write_text("v1\n")
    return served_root


def stub_training(monkeypatch, trained: list, judged: list, candidate_loss: float = 0.0) -> None:
    """Training writes a candidate card calibrated at 0.33; scoring records each model's threshold."""
    import training.evaluate
    import training.train

    def fake_train(recipe, data, out, resume_from, verbose):
        """Stands in for training: a card with the candidate's own calibrated decision."""
        trained.append((recipe, resume_from))
        out.mkdir(parents=True)
        (out / "model_card.json").write_text('{"decision": {"reject_below": 0.33}}')

    monkeypatch.setattr(training.train, "train", fake_train)
    monkeypatch.setattr(training.evaluate, "load_model", lambda path: path)
    monkeypatch.setattr(retrain, "match_served_operating_point", lambda *args, **kwargs: None)

    def fake_scores(model, slices, categories, reject_below):
        """The served model rejects half; the candidate ``candidate_loss`` fewer (of 400)."""
        judged.append((model, reject_below))
        worse = candidate_loss if model.name == "candidate" else 0.0
        return {name: {"rejection_rate": 0.5 - worse, "count": 400} for name in slices}

    monkeypatch.setattr(retrain, "evaluate_slices", fake_scores)


@pytest.mark.parametrize(("dry_run", "candidate_loss", "published", "last_line"), [
    (False, 0.0, True, "promoted v2"),
    (True, 0.0, False, "dry run: nothing published (the gate would promote the candidate)"),
    (False, 0.2, False, "refused: base test: rejection rate dropped from 0.500 to 0.300"),
])
def test_a_promoted_candidate_is_published_unless_dry_run(tmp_path, fakes, small_base, stub_served, monkeypatch,
                                                          dry_run, candidate_loss, published, last_line):
    """The loop's wiring with training and scoring stubbed: promote -> publisher called, report says so."""
    new_socks = fakes.bitmaps(fakes.scribbles(20, 77))
    trained, judged, calls, lines = [], [], [], []
    stub_training(monkeypatch, trained, judged, candidate_loss)
    config = retrain.RetrainConfig(model_dir=stub_served, base_data=small_base, out=tmp_path / "run",
                                   quickdrawjs=tmp_path / "none", dry_run=dry_run, epochs=2)
    result = retrain.retrain(config, exporter=lambda out: write_bucket(out, {"sock": new_socks}),
                             publisher=lambda *args: calls.append(args) or "v2", log=lines.append)
    assert result["promote"] is (candidate_loss == 0) and result["published"] is published
    assert trained[0][0].epochs == 2 and trained[0][1] == stub_served / "accessories" / "v1" / "model.keras"
    assert len(calls) == int(published)
    # Each model is judged at the threshold it serves with: the served one at its metadata's,
    # the candidate at the one training calibrated for it (and the export publishes with it).
    assert judged == [(stub_served / "accessories" / "v1" / "model.keras", 0.4), (tmp_path / "run" / "candidate", 0.33)]
    assert result["reject_below"] == {"served": 0.4, "candidate": 0.33}
    # The verdict is the last thing on the console, after the report's path.
    assert lines[-2] == f"wrote {tmp_path / 'run' / 'report.md'}"
    assert lines[-1].startswith(last_line)
    if published:
        run = tmp_path / "run"
        assert calls[0] == (run / "candidate", stub_served / "accessories", run / "dataset")
        assert result["current_version"] == "v2"
    report = (tmp_path / "run" / "report.md").read_text()
    assert ("**PROMOTED**" in report) is (candidate_loss == 0)
    assert ("dry run: nothing published" in report) is dry_run
    assert "served 0.40, candidate 0.33" in report


@pytest.mark.parametrize("missing", ["dataset", "served model", "store"])
def test_a_run_that_cannot_start_leaves_no_run_folder(tmp_path, fakes, small_base, stub_served, missing):
    """No base dataset, no served model or an unreadable store: one error, and no half-written run folder."""
    def broken_store(out: Path) -> None:
        """Stands in for an export from a store that cannot be read."""
        out.mkdir(parents=True)
        raise ValueError("exporting the approved contributions failed: no such table: drawing")

    config = retrain.RetrainConfig(
        model_dir=tmp_path / "nowhere" if missing == "served model" else stub_served,
        base_data=tmp_path / "no-data" if missing == "dataset" else small_base, out=tmp_path / "runs" / "run")
    message = {"dataset": "make data", "served model": "CURRENT is missing", "store": "no such table"}[missing]
    with pytest.raises((ValueError, FileNotFoundError), match=message):  # Both are the CLI's one-line errors.
        retrain.retrain(config, exporter=broken_store, publisher=lambda *args: pytest.fail("published"),
                        log=lambda line: None)
    assert not (tmp_path / "runs").exists()


def test_no_new_contributions_trains_nothing(tmp_path, small_base, stub_served, monkeypatch):
    """An empty export ends the run early: no training, no publishing, the served version kept."""
    import training.train

    served_root = stub_served
    monkeypatch.setattr(training.train, "train", lambda *args, **kwargs: pytest.fail("trained"))
    config = retrain.RetrainConfig(model_dir=served_root, base_data=small_base, out=tmp_path / "run")
    result = retrain.retrain(config, exporter=lambda out: out.mkdir(),
                             publisher=lambda *args: pytest.fail("published"), log=lambda message: None)
    assert result["reasons"] == ["no new approved contributions"] and result["current_version"] == "v1"
    assert "NOTHING TO DO" in (tmp_path / "run" / "report.md").read_text()


class FakeStore:
    """Store rows as ``Store.drawings`` yields them, with a ``name`` key only when the store has names."""

    def __init__(self, rows: list[dict]):
        self.rows = rows

    def drawings(self, status: str | None = "approved"):
        """Every row, whatever the status (all are approved here)."""
        return iter(self.rows)


def store_rows(bitmaps: np.ndarray, label: str, names: list[str | None] | None) -> list[dict]:
    """Approved drawings as the store lists them; ``names`` None: a store from before names existed."""
    import io

    from PIL import Image

    rows = []
    for index, bitmap in enumerate(bitmaps.reshape(-1, 28, 28)):
        png = io.BytesIO()
        Image.fromarray(bitmap).save(png, format="PNG")
        row = {"id": index + 1, "label": label, "guess": "bowtie", "created": "2026-12-03T10:00:00+00:00",
               "strokes": [[[0.0, 0.0], [10.0, 10.0]]], "png": png.getvalue()}
        if names is not None:
            row["name"] = names[index]
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def base_with_negatives(tmp_path_factory, fakes) -> Path:
    """A tiny base whose model answers "other": 3 named categories, "house" and "cloud" learnt by name, "tree" unseen."""
    root = tmp_path_factory.mktemp("negatives")
    package = fakes.write_quickdrawjs(root / "drawings", {
        name: fakes.scribbles(10, seed=200 + index)
        for index, name in enumerate(["bowtie", "sock", "purse", "house", "cloud", "tree"])})
    build.build(root / "no-raw", root / "base", ["bowtie", "sock", "purse"], quickdrawjs=package,
                log=lambda message: None, negatives=(["house", "cloud"], ["tree"]), cache_dir=root / "cache")
    return root / "base"


@pytest.mark.parametrize("store_has_names", [True, False])
def test_something_else_is_learnt_as_none_of_these(tmp_path, fakes, base_with_negatives, quiet, store_has_names):
    """Drawings labelled "other" become "none of these" rows: by name when it is a trained category, else still learnt."""
    from webapp.store.transfer import export_drawings

    drawings = fakes.bitmaps(fakes.scribbles(120, 300))
    names = ["House"] * 40 + ["a hat with a feather"] * 30 + [None] * 20 + ["tree"] * 20 + ["sock"] * 10
    export_drawings(FakeStore(store_rows(drawings, "other", names if store_has_names else None)),
                    tmp_path / "contributions")
    info = retrain.build_retraining_dataset(base_with_negatives, tmp_path / "contributions", tmp_path / "merged",
                                            quiet)

    counts = info["contributions"]["classes"]["other"]
    house = info["other"]["categories"].index("house")
    if store_has_names:
        # "House" is learnt as the house category; free text, no name and "tree" (held out for
        # testing) as one of the trained ones; a drawing named after a model category is left out.
        assert (counts["by name"], counts["unnamed or not a trained category"],
                counts["named after a model category"]) == (40, 70, 10)
    else:
        assert counts["unnamed or not a trained category"] == 120
    kept = counts["train"] + counts["val"] + counts["test"]
    assert kept == (110 if store_has_names else 120)
    other = len(info["categories"])
    for split in ("train", "val"):
        labels = np.asarray(dataset.load_split(tmp_path / "merged", split)[1])
        kinds = dataset.load_other_kinds(tmp_path / "merged", split)
        # Every "other" row has a trained negative category, so training can learn it by name.
        trained = set(np.unique(dataset.load_other_kinds(base_with_negatives, "train")[
            np.asarray(dataset.load_split(base_with_negatives, "train")[1]) == other]))
        assert ((labels == other) == (kinds >= 0)).all() and set(kinds[kinds >= 0]) <= trained
        assert info["counts"][split]["other"] == int((labels == other).sum())
    # The mapping itself: a name is matched like Quick Draw spells it, whatever its case and spaces.
    kinds, _ = retrain.other_kinds(["  HOUSE ", "tree", None], drawings[:3].reshape(-1, 28, 28), info,
                                   np.array([house]))
    assert kinds.tolist() == [house, house, house]
    test_images, test_labels = retrain.load_contributions_test(tmp_path / "merged")
    assert len(test_images) == counts["test"] and set(test_labels.tolist()) <= {other}


class Confident:
    """A stand-in network: row i's answer is its own class with a confidence spread over 0.3-1.0."""

    output_shape = (None, len(CATEGORIES))

    def __init__(self, labels: np.ndarray):
        self.labels = labels

    def predict(self, images, batch_size=None, verbose=0):
        """Probabilities whose best is the row's label, less sure for every few rows."""
        confidence = np.linspace(0.3, 1.0, len(images))
        answers = np.full((len(images), len(CATEGORIES)), 0.0)
        answers[np.arange(len(images)), self.labels[: len(images)]] = confidence
        return answers + (1 - confidence)[:, None] / len(CATEGORIES)


@pytest.mark.parametrize(("served_threshold", "recalibrated"), [(0.8, True), (0.05, False)])
def test_the_candidate_is_judged_at_the_served_operating_point(tmp_path, small_base, monkeypatch, served_threshold,
                                                               recalibrated):
    """A served model working at a higher false rejection than the budget moves the candidate's threshold to match it."""
    import training.evaluate

    labels = np.asarray(dataset.load_split(small_base, "val")[1])
    (tmp_path / "candidate").mkdir()
    (tmp_path / "candidate" / "model_card.json").write_text('{"decision": {"reject_below": 0.1, "other_label": null}}')
    monkeypatch.setattr(training.evaluate, "load_model", lambda path: Confident(labels))
    lines = []
    used = retrain.match_served_operating_point(Confident(labels), served_threshold, tmp_path / "candidate",
                                                small_base, len(CATEGORIES), 0.03, lines.append)
    card = training.evaluate.read_card(tmp_path / "candidate")
    if recalibrated:
        # The served model rejects its least sure drawings: the candidate's threshold rises to the same point.
        assert used is not None and used > 0.03 and card["decision"]["reject_below"] > 0.1
        assert "served model's operating point" in lines[0]
    else:
        assert used is None and card["decision"]["reject_below"] == 0.1 and lines == []

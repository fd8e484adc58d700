"""The dataset's other faces: class folders of images, report images, and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from training import build, dataset, folders, report
from training.__main__ import COMMANDS, main

CATEGORIES = ("bowtie", "sock", "umbrella")


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory, fakes: ModuleType) -> Path:
    """A built dataset of three classes (20, 10 and 5 drawings)."""
    root = tmp_path_factory.mktemp("small")
    raw = fakes.write_bucket(root / "raw", {
        "bowtie": fakes.scribbles(20, seed=1), "sock": fakes.scribbles(10, seed=2),
        "umbrella": fakes.scribbles(5, seed=3),
    })
    build.build(raw, root / "dataset", CATEGORIES, log=lambda message: None)
    return root / "dataset"


def test_png_folders_hold_the_train_and_val_images_exactly(small_dataset: Path, tmp_path: Path) -> None:
    written = folders.export_folders(small_dataset, tmp_path, "png")
    info = dataset.load_info(small_dataset)
    assert written == {split: info["counts"][split] for split in ("train", "val")}
    for split, folder in folders.FOLDERS.items():
        images, labels = dataset.load_split(small_dataset, split)
        assert sorted(path.name for path in (tmp_path / folder).iterdir()) == sorted(CATEGORIES)
        for row in (0, len(labels) - 1):
            path = tmp_path / folder / CATEGORIES[labels[row]] / f"{row:07d}.png"
            np.testing.assert_array_equal(np.asarray(Image.open(path)), images[row])
    assert not (tmp_path / "test_shapes").exists()


@pytest.mark.slow
def test_jpg_folders_are_readable_by_keras(small_dataset: Path, tmp_path: Path) -> None:
    import keras

    folders.export_folders(small_dataset, tmp_path, "jpg")
    reader = keras.utils.image_dataset_from_directory(
        tmp_path / "shapes", color_mode="grayscale", image_size=(28, 28), batch_size=64,
        label_mode="int", shuffle=False, verbose=False)
    assert reader.class_names == list(CATEGORIES)
    images, labels = next(iter(reader))
    info = dataset.load_info(small_dataset)
    assert images.shape[1:] == (28, 28, 1)
    assert np.bincount(labels.numpy(), minlength=3).tolist() == [info["counts"]["train"][c] for c in CATEGORIES]


def test_report_draws_three_images(small_dataset: Path) -> None:
    paths = report.write_report(small_dataset)
    assert [path.name for path in paths] == ["counts.png", "samples.png", "mean_images.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and min(image.size) > 100


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("download", "build", "report", "export-folders"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"python -m training {command}" in capsys.readouterr().out


def test_the_top_level_help_imports_no_command() -> None:
    code = ("import sys; from training.__main__ import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('training.', 'tensorflow'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "['training.__main__']"
    for command in COMMANDS:
        assert command in result.stdout


def test_export_folders_cli_explains_a_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["export-folders", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "out")])
    assert status == 1
    assert "run `make data` first" in capsys.readouterr().err

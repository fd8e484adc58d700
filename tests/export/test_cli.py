"""The command line: help, clean errors, and the parity command on a real export."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from export.__main__ import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for flag in ("--model", "--out", "--set", "--title", "--no-promote", "--quantization", "--tolerance-pp", "--data", "--parity", "--categories",
                 "--allow-accuracy-drop", "python -m export parity"):
        assert flag in shown


def test_parity_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["parity", "--help"])
    assert exited.value.code == 0
    assert "--runtime" in capsys.readouterr().out


def test_a_mistyped_quantization_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--model", "models/default", "--out", "web", "--quantization", "int4"])
    assert exited.value.code == 2
    assert "invalid choice: 'int4'" in capsys.readouterr().err


def test_a_missing_model_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model", str(tmp_path), "--out", str(tmp_path / "web"), "--quantization", "none"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: no Keras model at") and "Traceback" not in error


def test_parity_without_an_export_says_how_to_make_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parity", "--model", str(tmp_path), "--web", str(tmp_path / "web")]) == 2
    assert "run `make export`" in capsys.readouterr().err


@pytest.mark.slow
def test_module_runs_as_a_command() -> None:
    result = subprocess.run([sys.executable, "-m", "export", "parity", "--help"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "--web" in result.stdout


@pytest.mark.slow
@pytest.mark.e2e
def test_parity_command_reports_and_passes(
    tmp_path: Path, exported: Callable[[str | None], Path], tiny_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["parity", "--model", str(tiny_run), "--web", str(exported("float16")), "--n", "1000",
                 "--runtime", "node", "--data", str(tmp_path / "no-dataset")])
    shown = capsys.readouterr().out
    assert code == 0, shown
    # Without a dataset: the mirror's real drawings where there is a mirror, else synthetic ones.
    assert re.search(r"1000 bitmaps \((Quick Draw bitmaps of the local mirror|synthetic drawings)\), quantization float16",
                     shown)
    assert "node (wasm)" in shown and "top-1 agreement 100.00% of 1000 [ok]" in shown


def test_promote_rollback_and_list_switch_the_current_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The version commands print what they did; rollback with no earlier version is one clear line."""
    import shutil

    shipped = REPO_ROOT / "served" / "accessories"
    current = (shipped / "CURRENT").read_text().strip()
    root = tmp_path / "served"
    for version in ("aaaaaaaaaaaa", "bbbbbbbbbbbb"):
        shutil.copytree(shipped / current, root / "accessories" / version)
        metadata_path = root / "accessories" / version / "metadata.json"
        metadata_path.write_text(metadata_path.read_text().replace(current, version))
    assert main(["promote", "aaaaaaaaaaaa", "--served", str(root)]) == 0
    assert main(["rollback", "--served", str(root)]) == 2
    assert "no earlier version" in capsys.readouterr().err
    assert main(["promote", "bbbbbbbbbbbb", "--served", str(root)]) == 0
    assert main(["list", "--served", str(root)]) == 0
    listing = capsys.readouterr().out
    assert "now serving bbbbbbbbbbbb" in listing and "* bbbbbbbbbbbb" in listing and "  aaaaaaaaaaaa" in listing
    assert main(["rollback", "--served", str(root)]) == 0
    assert "rolled back to aaaaaaaaaaaa" in capsys.readouterr().out
    assert (root / "accessories" / "CURRENT").read_text() == "aaaaaaaaaaaa\n"
    assert main(["promote", "cccccccccccc", "--served", str(root)]) == 2
    assert main(["list", "--set", "hats", "--served", str(root)]) == 2

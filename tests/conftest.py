"""Settings every test folder shares: the Chromium that browser tests drive, a quiet TF-DF.

pytest-playwright launches its own browser builds by default, which cannot be downloaded
here; every browser test (pages, preprocessing parity) drives Debian's Chromium instead.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

# tensorflowjs imports TensorFlow Decision Forests, whose welcome banner imports IPython
# (not installed) whenever stdout is not the terminal, as under pytest's capture.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

from export.chromium import launch_options  # noqa: E402  (after the setting above)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium the way the whole project does (``export.chromium``)."""
    return {**browser_type_launch_args, **launch_options()}

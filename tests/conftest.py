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

CHROMIUM_EXECUTABLE = os.environ.get("CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
# No sandbox: containers and CI runners lack the kernel features it needs. The rest keep a
# test browser from reaching the network on its own (updates, sync, background fetches).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium (``$CHROMIUM_EXECUTABLE``) with the arguments above."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM_EXECUTABLE, "args": CHROMIUM_ARGS}

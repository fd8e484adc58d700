"""How this project launches headless Chromium: the parity check, the browser tests and the benchmarks.

Debian's build, because Playwright cannot download its own browsers here; no sandbox, because
containers and CI runners lack the kernel features it needs; and none of the background
fetches (updates, sync, components), so that a run never reaches the network on its own.
"""

from __future__ import annotations

import os
from typing import Any

CHROMIUM_EXECUTABLE = os.environ.get("CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch_options() -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch``."""
    return {"executable_path": CHROMIUM_EXECUTABLE, "args": list(CHROMIUM_ARGS)}

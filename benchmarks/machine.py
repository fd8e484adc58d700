"""A description of the machine a benchmark ran on, stored beside its figures."""

from __future__ import annotations

import os
import platform
import subprocess


def describe_machine() -> dict[str, str | int]:
    """CPU model, core count, memory and software versions: what a reader needs to compare."""
    cpu = platform.processor() or "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    try:
        chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True,
                                  timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        chromium = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "memory_gib": memory_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "chromium": chromium,
    }

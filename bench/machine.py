"""One line describing the machine a benchmark ran on (printed with every result)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """Cores, CPU model, memory, load and Python version."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total_kb = int(meminfo.read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.0f} GiB RAM"
    one, five, fifteen = os.getloadavg()
    load = f", load {one:.2f} {five:.2f} {fifteen:.2f}"
    return (
        f"machine: {os.cpu_count()} cores, {model}{memory}{load}; "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}"
    )

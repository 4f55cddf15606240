"""The machine a benchmark ran on: a dict for JSON results and one line for printed ones."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what ``platform`` knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> dict[str, object]:
    """Cores, CPU model, memory, Python version and load average, for JSON results."""
    return {
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_model": cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def describe() -> str:
    """The same facts as one line (printed with every result)."""
    one, five, fifteen = os.getloadavg()
    memory = psutil.virtual_memory().total / 1024**3
    return (
        f"machine: {os.cpu_count()} cores, {cpu_model()}, {memory:.0f} GiB RAM, "
        f"load {one:.2f} {five:.2f} {fifteen:.2f}; "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}"
    )

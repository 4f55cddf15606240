"""The machine a benchmark ran on: a dict for JSON results and one line for printed ones."""

from __future__ import annotations

import os
import platform

import psutil

from iotad.machine import cpu_model, describe_machine


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
    """The same facts as one line (printed with every result), with the operating system."""
    return f"{describe_machine()} on {platform.system()} {platform.release()}"

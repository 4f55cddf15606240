"""The machine a demo, a script or a benchmark ran on: cores, CPU model, memory and load."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what ``platform`` knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> float | None:
    """Total memory in GiB (one decimal), from /proc/meminfo."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.is_file():
        return None
    return round(int(meminfo.read_text().split()[1]) / 1024 / 1024, 1)


def machine_facts() -> dict[str, object]:
    """Cores, CPU model, memory (GiB), 1/5/15-minute load averages and Python version."""
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
    }


def describe_machine() -> str:
    """One line: ``machine: 2 cores, AMD EPYC, 23.5 GiB, load 3.1 2.9 2.5``."""
    facts = machine_facts()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"machine: {facts['cores']} cores, {facts['cpu']}, {facts['memory_gib']} GiB RAM, "
        f"load {load}; Python {facts['python']}"
    )


__all__ = ["cpu_model", "describe_machine", "machine_facts", "memory_gib"]

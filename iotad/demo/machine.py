"""The machine a demo (or a measurement) ran on: cores, CPU model, memory and load."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine_facts() -> dict[str, object]:
    """Cores, CPU model, memory (GiB), 1/5/15-minute load averages and Python version."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else model
    memory_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        memory_gib = round(int(meminfo.read_text().split()[1]) / 1024 / 1024, 1)
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": memory_gib,
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


__all__ = ["describe_machine", "machine_facts"]

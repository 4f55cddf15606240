"""Fidelity of `iotad capture`: per-label statistics of real CICIoT2023 rows beside the rows
iotad computes from generated packets of the same kind of traffic.

    .venv/bin/python bench/capture_fidelity.py [--packets 20000] [--data ../shared/data/ciciot2023]
        [--plot docs/img/capture_fidelity.png]

Each scenario of ``bench/capture_traffic.py`` (SYN/UDP/ICMP floods, a port scan, web, DNS, a
benign mix) is written as a pcap, read back by iotad's capture core with CIC's window size for
that kind of capture (100 packets for floods, 10 otherwise), and its rows are summarised beside
the real rows of the matching label (per-class files, or the MERGED sample). Prints a Markdown
table and writes a plot. The traffic is synthetic: its pacing and sizes are this script's
choices, so rates and sizes compare kinds of traffic, not the same packets.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from capture_traffic import SCENARIOS, T0, write_pcap
from machine import describe

from iotad.capture import CaptureFile, CaptureOptions, run_capture
from iotad.capture.core.types import FeatureRows
from iotad.schemas.features import FEATURES_39

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ciciot2023"

#: scenario → (real label, where its rows are, CIC's window size for that capture).
PAIRS: dict[str, tuple[str, str, int]] = {
    "syn_flood": ("DDOS-SYN_FLOOD", "merged", 100),
    "udp_flood": ("DDOS-UDP_FLOOD", "merged", 100),
    "icmp_flood": ("DDOS-ICMP_FLOOD", "merged", 100),
    "port_scan": ("Recon-PortScan", "per_class/Recon-PortScan/Recon-PortScan.pcap.csv.gz", 10),
    "http": ("XSS", "per_class/XSS/XSS.pcap.csv.gz", 10),
    "dns": ("DNS_SPOOFING", "merged", 10),
    "benign_mix": ("BENIGN", "merged", 10),
}
STATS = {
    "rows": None,
    "TCP": "mean",
    "UDP": "mean",
    "ICMP": "mean",
    "ARP": "mean",
    "syn_flag_number": "mean",
    "ack_flag_number": "mean",
    "rst_flag_number": "mean",
    "psh_flag_number": "mean",
    "HTTP": "mean",
    "HTTPS": "mean",
    "DNS": "mean",
    "Header_Length": "mean",
    "Protocol Type": "mode",
    "Time_To_Live": "median",
    "Tot size": "median",
    "Std": "median",
    "Rate": "median",
    "IAT": "median",
}


class Collect:
    """A row sink that keeps the rows."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.written = 0

    async def write(self, rows: FeatureRows, source: str) -> None:
        self.parts.append(rows.values)
        self.written += len(rows)

    async def close(self) -> None:
        return None


def computed(scenario: str, packets: int, window: int, folder: Path) -> pd.DataFrame:
    """iotad's rows of ``packets`` generated packets of ``scenario``."""
    path = folder / f"{scenario}.pcap"
    write_pcap(path, SCENARIOS[scenario](np.random.default_rng(11), packets, T0))
    sink = Collect()
    asyncio.run(run_capture([CaptureFile(path)], CaptureOptions(window=window), sink))
    return pd.DataFrame(np.vstack(sink.parts), columns=list(FEATURES_39))


def real(label: str, where: str, data: Path, merged: pd.DataFrame) -> pd.DataFrame:
    """The real rows of ``label``."""
    if where == "merged":
        return merged[merged["Label"] == label][list(FEATURES_39)]
    return pd.read_csv(data / where)[list(FEATURES_39)]


def summary(rows: pd.DataFrame) -> dict[str, float]:
    """The statistics of :data:`STATS` over ``rows``."""
    rows = rows.replace([np.inf, -np.inf], np.nan)
    out: dict[str, float] = {}
    for name, how in STATS.items():
        if how is None:
            out[name] = float(len(rows))
        elif how == "mode":
            out[name] = float(rows[name].mode().iloc[0])
        else:
            out[name] = float(getattr(rows[name], how)())
    return out


def table(results: dict[str, tuple[dict[str, float], dict[str, float]]]) -> str:
    """Markdown: one column pair (real | iotad) per scenario, one line per statistic."""
    heads = " | ".join(f"{PAIRS[s][0]} real | {s} iotad" for s in results)
    lines = [f"| statistic | {heads} |", "|---" * (1 + 2 * len(results)) + "|"]
    for name, how in STATS.items():
        label = name if how in (None, "mean") else f"{name} ({how})"
        cells = []
        for real_stats, ours in results.values():
            cells += [_fmt(real_stats[name]), _fmt(ours[name])]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e6:
        return f"{int(value):,}"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def plot(results: dict[str, tuple[dict[str, float], dict[str, float]]], path: Path) -> None:
    """Real vs iotad, per scenario: protocol and flag fractions, and log-scale size and rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fractions = [
        "TCP",
        "UDP",
        "ICMP",
        "ARP",
        "syn_flag_number",
        "ack_flag_number",
        "rst_flag_number",
        "psh_flag_number",
    ]
    scales = ["Tot size", "Std", "Rate", "IAT"]
    fig, axes = plt.subplots(2, len(results), figsize=(3.1 * len(results), 6.5), squeeze=False)
    for col, (scenario, (real_stats, ours)) in enumerate(results.items()):
        x = np.arange(len(fractions))
        top = axes[0][col]
        top.bar(x - 0.2, [real_stats[f] for f in fractions], 0.4, label="CIC rows")
        top.bar(x + 0.2, [ours[f] for f in fractions], 0.4, label="iotad")
        top.set_xticks(
            x, [f.replace("_flag_number", "") for f in fractions], rotation=60, fontsize=7
        )
        top.set_ylim(0, 1.05)
        top.set_title(f"{PAIRS[scenario][0]}\nvs {scenario}", fontsize=8)
        bottom = axes[1][col]
        x = np.arange(len(scales))
        bottom.bar(x - 0.2, [max(real_stats[f], 1e-7) for f in scales], 0.4)
        bottom.bar(x + 0.2, [max(ours[f], 1e-7) for f in scales], 0.4)
        bottom.set_yscale("log")
        bottom.set_xticks(x, scales, rotation=60, fontsize=7)
    axes[0][0].set_ylabel("mean over rows")
    axes[1][0].set_ylabel("median over rows (log)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Real CICIoT2023 rows vs iotad capture of generated traffic of the same kind")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--plot", type=Path, default=Path("docs/img/capture_fidelity.png"))
    args = parser.parse_args()
    print(describe())
    merged = pd.read_csv(args.data / "ciciot2023_merged39_sample.csv.gz")
    results: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="iotad-fidelity-") as tmp:
        for scenario, (label, where, window) in PAIRS.items():
            ours = computed(scenario, args.packets, window, Path(tmp))
            results[scenario] = (summary(real(label, where, args.data, merged)), summary(ours))
    print(table(results))
    plot(results, args.plot)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()

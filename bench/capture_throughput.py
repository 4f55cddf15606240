"""Capture throughput: packets/s per core and peak RSS of `iotad capture`'s core, two file sizes.

    .venv/bin/python bench/capture_throughput.py [--packets 1000000] [--sizes 1,2]
        [--layout cic39] [--dpkt-packets 300000] [--keep DIR]

Generates pcaps of mixed traffic (``bench/capture_traffic.py``: floods, scans, web, DNS, ARP)
of ``--packets`` × each of ``--sizes`` packets, then, each in a fresh process so peak RSS is
its own: iotad's reader + decoder + windows (rows built, not written), the same with CSV
output, and dpkt 1.9.8's per-packet parsing of the same file (header fields only, no
features; the first ``--dpkt-packets``). Beside them, tcpdump's own read rate of the file
(``tcpdump -r F -w /dev/null``). Rates are per CPU second of the process (one core).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from capture_traffic import mixed, write_pcap
from machine import describe, machine

OUT = Path("var/bench/capture_throughput.json")


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ``ru_maxrss`` would include the parent's at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_iotad(path: Path, layout: str, csv_out: Path | None) -> dict[str, float]:
    """Run the capture core over ``path`` in this process; rows are built (and written)."""
    from iotad.capture import CaptureFile, CaptureOptions, CsvRows, run_capture
    from iotad.capture.core.types import FeatureRows
    from iotad.schemas.features import LAYOUT_FEATURES, FeatureLayout

    class Discard:
        written = 0

        async def write(self, rows: FeatureRows, source: str) -> None:
            self.written += len(rows)

        async def close(self) -> None:
            return None

    names = LAYOUT_FEATURES[FeatureLayout(layout)]
    sink = CsvRows(csv_out, names, "gw-bench") if csv_out else Discard()
    cpu, wall = _cpu(), time.perf_counter()
    options = CaptureOptions(layout=FeatureLayout(layout), window=10)
    summary = asyncio.run(run_capture([CaptureFile(path)], options, sink))
    return {
        "packets": summary.packets_read,
        "rows": summary.windows,
        "cpu_s": _cpu() - cpu,
        "wall_s": time.perf_counter() - wall,
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_dpkt(path: Path, limit: int) -> dict[str, float]:
    """dpkt's per-packet parsing of the first ``limit`` packets: the fields iotad reads."""
    import dpkt

    cpu, wall, count, checksum = _cpu(), time.perf_counter(), 0, 0
    with path.open("rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP):
                l4 = ip.data
                checksum += ip.ttl + ip.p + len(buf)
                if isinstance(l4, dpkt.tcp.TCP):
                    checksum += l4.flags + l4.sport + l4.dport + (l4.off << 2)
                elif isinstance(l4, dpkt.udp.UDP):
                    checksum += l4.sport + l4.dport
            count += 1
            if count >= limit:
                break
    return {
        "packets": count,
        "cpu_s": _cpu() - cpu,
        "wall_s": time.perf_counter() - wall,
        "peak_rss_mb": _peak_rss_mb(),
    }


def in_child(*args: str) -> dict[str, float]:
    """Run this script's ``--child`` mode in a fresh interpreter and read its JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def tcpdump_read(path: Path) -> dict[str, float] | None:
    """tcpdump's read of the whole file (CPU of the child, wall time)."""
    binary = shutil.which("tcpdump")
    if binary is None:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([binary, "-r", str(path), "-w", "/dev/null"], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_s": cpu, "wall_s": time.perf_counter() - wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--sizes", default="1,2", help="multiples of --packets, one file each")
    parser.add_argument("--layout", default="cic39", choices=["cic39", "cic46"])
    parser.add_argument("--dpkt-packets", type=int, default=300_000)
    parser.add_argument("--keep", type=Path, help="keep the generated pcaps in this folder")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, rest = args.child[0], Path(args.child[1]), args.child[2:]
        if mode == "dpkt":
            print(json.dumps(child_dpkt(path, int(rest[0]))))
        else:
            csv_out = Path(rest[1]) if len(rest) > 1 else None
            print(json.dumps(child_iotad(path, rest[0], csv_out)))
        return

    print(describe())
    folder = args.keep or Path(tempfile.mkdtemp(prefix="iotad-bench-capture-"))
    folder.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, object]] = []
    try:
        for multiple in (int(s) for s in args.sizes.split(",")):
            count = args.packets * multiple
            path = folder / f"mixed-{count}.pcap"
            started = time.perf_counter()
            write_pcap(path, mixed(np.random.default_rng(7), count))
            size_mb = path.stat().st_size / 1e6
            print(
                f"generated {path.name}: {count:,} packets, {size_mb:,.0f} MB "
                f"in {time.perf_counter() - started:.1f}s"
            )
            core = in_child("iotad", str(path), args.layout)
            entry: dict[str, object] = {"packets": count, "file_mb": size_mb, "iotad": core}
            if multiple == 1:
                entry["iotad_csv"] = in_child(
                    "iotad", str(path), args.layout, str(folder / "o.csv")
                )
                entry["dpkt"] = in_child("dpkt", str(path), str(args.dpkt_packets))
            entry["tcpdump"] = tcpdump_read(path)
            results.append(entry)
            _report(entry)
            if not args.keep:
                path.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"machine": machine(), "layout": args.layout, "runs": results}, indent=2)
    )
    print(f"results: {OUT}")


def _report(entry: dict[str, object]) -> None:
    count = entry["packets"]
    print(f"--- {count:,} packets ({entry['file_mb']:,.0f} MB)")
    for name in ("iotad", "iotad_csv", "dpkt"):
        run = entry.get(name)
        if isinstance(run, dict):
            rate = run["packets"] / run["cpu_s"]
            print(
                f"  {name:<10} {rate:>12,.0f} packets/s per core  "
                f"(cpu {run['cpu_s']:.2f}s, wall {run['wall_s']:.2f}s, "
                f"peak RSS {run['peak_rss_mb']:.0f} MB, {run['packets']:,} packets)"
            )
    dump = entry.get("tcpdump")
    core = entry["iotad"]
    if isinstance(dump, dict) and isinstance(core, dict):
        dump_rate = float(count) / max(dump["cpu_s"], 1e-9)  # type: ignore[arg-type]
        ratio = (core["packets"] / core["cpu_s"]) / dump_rate
        print(
            f"  tcpdump    {dump_rate:>12,.0f} packets/s per core  (cpu {dump['cpu_s']:.2f}s, "
            f"wall {dump['wall_s']:.2f}s)  → iotad/tcpdump = {ratio:.2f}"
        )
    elif dump is None:
        print("  tcpdump not installed (make system-deps)")


if __name__ == "__main__":
    main()

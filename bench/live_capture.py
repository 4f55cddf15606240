"""Live capture on loopback: how many packets/s iotad turns into windows, and what it drops.

    .venv/bin/python bench/live_capture.py [--packets 200000] [--size 64] [--modes tcpdump,pcapy]

A separate process floods a local UDP sink (127.<x>.0.1) with ``--packets`` datagrams as fast
as it can; iotad captures ``lo`` (BPF: that /16 only) and runs the capture core's windows into
a sink that only counts. ``tcpdump`` is the product path (``iotad capture --interface``:
tcpdump's pcap stream through a pipe, immediate mode); ``tcpdump-blocks`` the same without
immediate mode (libpcap's 1 s blocks); ``pcapy`` reads libpcap in-process with pcapy-ng
(not a project dependency: only measured when importable). Reported: packets the sender sent,
the capture handed over, the kernel dropped, windows made, wall and CPU seconds. Needs capture
rights (root). The sender shares the machine's cores with the capture: a loaded machine drops.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import time
import uuid
from collections.abc import Iterator

import psutil
from machine import describe

from iotad.capture import CaptureOptions, run_capture
from iotad.capture.core.types import FeatureRows, PacketBatch
from iotad.capture.live import LiveCapture, TcpdumpOptions
from iotad.capture.traffic.attacks import udp_flood


class Counting:
    """A row sink that only counts windows."""

    def __init__(self) -> None:
        self.windows = 0

    async def write(self, rows: FeatureRows, source: str) -> None:
        self.windows += len(rows)

    async def close(self) -> None:
        return None

    @property
    def written(self) -> int:
        return self.windows


def _flood(target: tuple[str, int], source: str, packets: int, size: int) -> None:
    udp_flood(target, source, packets=packets, size=size, deadline_s=120.0)


class PcapySource:
    """libpcap in-process (pcapy-ng; it has no immediate mode: 100 ms blocks), batched 1,000
    packets at a time, until ``quiet_s`` without one."""

    def __init__(self, bpf: str, quiet_s: float = 1.0) -> None:
        import pcapy  # type: ignore[import-not-found]

        self.reader = pcapy.create("lo")
        self.reader.set_snaplen(256)
        self.reader.set_buffer_size(16 * 1024 * 1024)
        self.reader.set_timeout(100)
        self.reader.activate()
        self.reader.setfilter(bpf)
        self.reader.setnonblock(1)  # next() blocks past its timeout otherwise
        self.quiet_s = quiet_s
        self.dropped = 0

    @property
    def name(self) -> str:
        return "lo"

    def batches(self) -> Iterator[PacketBatch]:
        frames: list[tuple[float, bytes, int]] = []
        last = time.monotonic()
        while time.monotonic() - last < self.quiet_s:
            header, data = self.reader.next()
            if header is None or not data:
                if frames:
                    yield PacketBatch.from_frames(1, frames)
                    frames = []
                time.sleep(0.001)
                continue
            last = time.monotonic()
            sec, usec = header.getts()
            frames.append((sec + usec * 1e-6, data, header.getlen()))
            if len(frames) >= 1000:
                yield PacketBatch.from_frames(1, frames)
                frames = []
        if frames:
            yield PacketBatch.from_frames(1, frames)
        self.dropped = self.reader.stats()[1]


def measure(mode: str, packets: int, size: int) -> dict[str, object]:
    octet = 100 + uuid.uuid4().int % 150
    server, attacker = f"127.{octet}.0.1", f"127.{octet}.9.1"
    bpf = f"udp and net 127.{octet}.0.0/16"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind((server, 0))  # the datagrams only need a port that exists
        target = (server, sink.getsockname()[1])
        tcpdump = TcpdumpOptions("lo", bpf, immediate=mode == "tcpdump")
        live = LiveCapture(tcpdump).start() if mode.startswith("tcpdump") else None
        source = live if live is not None else PcapySource(bpf)
        sender = multiprocessing.Process(target=_flood, args=(target, attacker, packets, size))
        me = psutil.Process()
        cpu0, began = me.cpu_times(), time.monotonic()
        sender.start()
        counting = Counting()

        async def go() -> int:
            summary = await run_capture([source], CaptureOptions(), counting)
            return summary.packets_read

        if live is not None:
            import threading

            def stop_when_sent() -> None:
                sender.join()
                time.sleep(1.0)  # let the last packets through the pipe
                live.stop("flood sent")

            threading.Thread(target=stop_when_sent, daemon=True).start()
        read = asyncio.run(go())
        sender.join()
        wall = time.monotonic() - began - (1.0 if live is not None else source.quiet_s)
        cpu1 = me.cpu_times()
    dropped = live.stats.dropped_by_kernel if live and live.stats else getattr(source, "dropped", 0)
    return {
        "mode": mode,
        "sent": packets,
        "captured": read,
        "dropped_by_kernel": dropped,
        "windows": counting.windows,
        "wall_s": round(wall, 2),
        "packets_per_s": round(read / wall),
        "iotad_cpu_s": round(cpu1.user + cpu1.system - cpu0.user - cpu0.system, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--modes", default="tcpdump,tcpdump-blocks,pcapy")
    args = parser.parse_args()
    print(f"machine: {describe()} (load average {os.getloadavg()[0]:.2f} at start)")
    for mode in args.modes.split(","):
        if mode == "pcapy":
            try:
                import pcapy  # noqa: F401
            except ImportError:
                print("pcapy: pcapy-ng is not installed; skipped")
                continue
        print(measure(mode, args.packets, args.size))


if __name__ == "__main__":
    main()

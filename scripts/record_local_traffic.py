"""Capture this machine's own generated ward traffic (loopback, live) into CICIoT2023 windows.

    python scripts/record_local_traffic.py --out var/local/benign.csv [--duration 60]
        [--interval 0.1] [--devices 3] [--octet 10] [--attack] [--seed 42]

Starts the local gateway services on 127.<octet>.0.1, captures ``lo`` live with tcpdump (BPF:
that /16 only) while the devices exchange benign MQTT/DNS/HTTPS/HTTP traffic for
``--duration`` seconds (``--attack`` adds a port scan, a UDP flood and an HTTP burst at the
end), and writes the windows as ``iotad capture --csv`` does. The result is a gateway's
"normal" measured on this machine (docs/capture-live.md). Needs capture rights (root).
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from iotad.capture import CaptureOptions
from iotad.capture.live import LiveCapture, TcpdumpOptions
from iotad.capture.traffic import (
    AttackPlan,
    BenignPlan,
    LocalServers,
    LoopbackHosts,
    attack_traffic,
    benign_traffic,
)
from iotad.cli.capture_live import LiveRequest, capture_live, print_live
from iotad.console import Console
from iotad.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--octet", type=int, default=10)
    parser.add_argument("--attack", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    hosts = LoopbackHosts(octet=args.octet, devices=args.devices)
    settings = load_settings(overrides={"capture": {"gateway_id": "gw-local"}})
    console = Console()
    result: dict[str, object] = {}
    with LocalServers(hosts) as servers:
        live = LiveCapture(TcpdumpOptions("lo", hosts.bpf)).start()
        request = LiveRequest("lo", hosts.bpf, csv_out=args.out)
        capturing = threading.Thread(
            target=lambda: result.update(
                out=capture_live(settings, CaptureOptions(), request, console, live=live)
            )
        )
        capturing.start()
        plan = BenignPlan(duration_s=args.duration, interval_s=args.interval, seed=args.seed)
        print("benign:", benign_traffic(servers, plan))
        if args.attack:
            print("attack:", attack_traffic(servers, AttackPlan()))
        live.stop("traffic done")
        capturing.join()
    summary, written, _ = result["out"]  # type: ignore[misc]
    print(f"{written:,} windows from {summary.packets_read:,} packets → {args.out}")
    print_live(console, live, summary)


if __name__ == "__main__":
    main()

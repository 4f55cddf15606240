"""Record a simulated ward's traffic on this machine's loopback into a pcap (tcpdump on ``lo``).

For ``bench/captured_gateway.py``: the capture wing's local services and generators
(:mod:`iotad.capture.traffic`: MQTT telemetry, DNS, HTTPS and HTTP from every device) run on a
fresh ``127.<octet>.0.0/16``; tcpdump — with the live capture's own command line
(:class:`~iotad.capture.live.TcpdumpOptions`), writing a file instead of a pipe — keeps exactly
that network's packets. Optionally the generators' attack bursts (SYN scan, UDP flood, HTTP
burst) follow from the ward's attacker address. Needs capture rights (root).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from iotad.capture.live import TcpdumpOptions, TcpdumpStats
from iotad.capture.live.tcpdump import failure, parse_stats
from iotad.capture.traffic import (
    AttackPlan,
    BenignPlan,
    LocalServers,
    LoopbackHosts,
    TrafficReport,
    attack_traffic,
    benign_traffic,
)

#: The generators' attack bursts, one kind at a time (AttackPlan's defaults).
ATTACKS: dict[str, AttackPlan] = {
    "SYN scan (200 ports)": AttackPlan(flood_packets=0, burst_requests=0),
    "UDP flood (2,000 × 512 B)": AttackPlan(scan_ports=0, burst_requests=0),
    "HTTP burst (100 GETs)": AttackPlan(scan_ports=0, flood_packets=0),
}


@dataclass(frozen=True)
class Recording:
    """What was recorded: the pcap, the ward's hosts, when each phase ran, what was sent."""

    pcap: Path
    hosts: LoopbackHosts
    benign: TrafficReport
    attack: TrafficReport | None
    benign_span: tuple[float, float]
    #: Each attack kind's start and end (epoch seconds), in the order they ran.
    attack_spans: dict[str, tuple[float, float]]
    stats: TcpdumpStats | None


def _start_tcpdump(options: TcpdumpOptions, pcap: Path) -> subprocess.Popen[str]:
    argv = options.argv()
    argv[argv.index("-w") + 1] = str(pcap)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "listening on lo, …" once the filter is attached
    if "listening on" not in line:
        proc.wait(timeout=10)
        raise failure(line + proc.stderr.read(), options)
    return proc


def _stop_tcpdump(proc: subprocess.Popen[str]) -> TcpdumpStats | None:
    time.sleep(0.5)  # the last packets' way through libpcap's buffer
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return parse_stats(err.splitlines())


def record(
    pcap: Path,
    *,
    duration_s: float,
    interval_s: float,
    devices: int,
    seed: int,
    attack: bool,
) -> Recording:
    """Run the ward's benign traffic (then its attacks) on loopback and record it to ``pcap``."""
    hosts = LoopbackHosts(octet=100 + uuid.uuid4().int % 150, devices=devices)
    pcap.parent.mkdir(parents=True, exist_ok=True)
    with LocalServers(hosts) as servers:
        proc = _start_tcpdump(TcpdumpOptions("lo", hosts.bpf), pcap)
        try:
            began = time.time()
            benign = benign_traffic(
                servers,
                BenignPlan(duration_s=duration_s, interval_s=interval_s, seed=seed,
                           max_ticks=10_000_000),
                threading.Event(),
            )  # fmt: skip
            benign_span = (began, time.time())
            attack_report, spans = (TrafficReport() if attack else None), {}
            for kind, plan in ATTACKS.items() if attack else ():
                time.sleep(1.0)  # a gap: every window lies in one phase
                began = time.time()
                attack_report = attack_report.merge(attack_traffic(servers, plan))  # type: ignore[union-attr]
                spans[kind] = (began, time.time())
        finally:
            stats = _stop_tcpdump(proc)
    return Recording(pcap, hosts, benign, attack_report, benign_span, spans, stats)


__all__ = ["ATTACKS", "Recording", "record"]

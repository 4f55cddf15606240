"""Scenarios of generated traffic on loopback: a ward's benign day and attack-like bursts.

* :func:`benign_traffic`: every device keeps an MQTT session and publishes telemetry each
  ``interval_s``, resolves a name now and then (DNS), posts over HTTPS occasionally and polls an
  HTTP status page — what a gateway sees as normal.
* :func:`attack_traffic`: from the attacker's address, a port scan of the server, a UDP flood to
  its sink and an HTTP request burst.

Both are bounded by time and by count, stop by themselves, and report what they exchanged and
every failure (counted by kind, never ignored).
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
from dataclasses import dataclass

import orjson

from iotad.capture.traffic.attacks import http_burst, port_scan, udp_flood
from iotad.capture.traffic.dns import query
from iotad.capture.traffic.mqtt import MqttDevice
from iotad.capture.traffic.servers import LocalServers
from iotad.capture.traffic.types import TrafficReport
from iotad.capture.traffic.web import get

logger = logging.getLogger(__name__)

_NAMES = ("ehr.ward3.local", "pacs.ward3.local", "time.ward3.local")


@dataclass(frozen=True)
class BenignPlan:
    """How much benign traffic: for how long, how often, how many ticks at most."""

    duration_s: float = 5.0
    interval_s: float = 0.1
    max_ticks: int = 10_000
    dns_every: int = 10
    https_probability: float = 0.05
    http_probability: float = 0.05
    seed: int = 42


@dataclass(frozen=True)
class AttackPlan:
    """How much attack-like traffic of each kind (0 turns a kind off)."""

    scan_ports: int = 200
    flood_packets: int = 2_000
    flood_size: int = 512
    burst_requests: int = 100
    deadline_s: float = 10.0


def _telemetry(rng: random.Random, device: int, tick: int) -> bytes:
    return orjson.dumps(
        {"device": device, "seq": tick, "hr": rng.randint(55, 110), "spo2": rng.randint(92, 100)}
    )


def _tick(
    servers: LocalServers,
    sessions: list[MqttDevice],
    tick: int,
    plan: BenignPlan,
    rng: random.Random,
    report: TrafficReport,
) -> None:
    hosts, ports = servers.hosts, servers.ports
    assert servers.certificate is not None
    for index, (device, source) in enumerate(zip(sessions, hosts.device_addresses, strict=True)):
        device.publish(f"ward3/dev{index}/vitals", _telemetry(rng, index, tick))
        report.exchanges["mqtt_publish"] += 1
        try:
            if tick % plan.dns_every == index % plan.dns_every:
                answer = query((hosts.server, ports.dns), rng.choice(_NAMES), source, tick & 0xFFFF)
                if answer is None:
                    report.errors["dns_timeout"] += 1
                else:
                    report.exchanges["dns"] += 1
            if rng.random() < plan.https_probability:
                tls = servers.certificate.client_context()
                report.exchanges["https"] += get((hosts.server, ports.https), source, tls=tls)
            if rng.random() < plan.http_probability:
                report.exchanges["http"] += get((hosts.server, ports.http), source, "/status")
        except (OSError, http.client.HTTPException) as exc:
            report.errors[type(exc).__name__] += 1
            logger.info("benign traffic: device %s: %s", source, exc)


def benign_traffic(
    servers: LocalServers, plan: BenignPlan, stop: threading.Event | None = None
) -> TrafficReport:
    """Run the ward's benign traffic for ``plan.duration_s`` (or ``max_ticks``, or ``stop``)."""
    stop = stop or threading.Event()
    rng = random.Random(plan.seed)
    report = TrafficReport()
    began = time.monotonic()
    hosts, ports = servers.hosts, servers.ports
    sessions = [
        MqttDevice((hosts.server, ports.mqtt), source, f"dev{i}")
        for i, source in enumerate(hosts.device_addresses)
    ]
    report.exchanges["mqtt_connect"] += len(sessions)
    try:
        for tick in range(plan.max_ticks):
            if stop.is_set() or time.monotonic() - began >= plan.duration_s:
                break
            _tick(servers, sessions, tick, plan, rng, report)
            stop.wait(max(0.0, began + (tick + 1) * plan.interval_s - time.monotonic()))
    finally:
        for session in sessions:
            session.close()
    report.elapsed_s = time.monotonic() - began
    return report


def attack_traffic(servers: LocalServers, plan: AttackPlan) -> TrafficReport:
    """Scan, flood and burst from the attacker's address at the server, each bounded."""
    hosts, ports = servers.hosts, servers.ports
    report = TrafficReport()
    began = time.monotonic()
    if plan.scan_ports:
        port_scan(hosts.server, list(range(1, plan.scan_ports + 1)), hosts.attacker, report)
    if plan.flood_packets:
        report.packets_sent["udp_flood"] += udp_flood(
            (hosts.server, ports.sink),
            hosts.attacker,
            packets=plan.flood_packets,
            size=plan.flood_size,
            deadline_s=plan.deadline_s,
        )
        report.exchanges["udp_flood"] += 1
    if plan.burst_requests:
        ok, failed = http_burst(
            (hosts.server, ports.http),
            hosts.attacker,
            requests=plan.burst_requests,
            deadline_s=plan.deadline_s,
        )
        report.exchanges["http_burst"] += ok
        if failed:
            report.errors["http_burst"] += failed
    report.elapsed_s = time.monotonic() - began
    return report


__all__ = ["AttackPlan", "BenignPlan", "attack_traffic", "benign_traffic"]

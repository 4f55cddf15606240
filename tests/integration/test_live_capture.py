"""Live loopback capture → CICIoT2023 windows → Kafka → the real worker → alerts.

tcpdump captures ``lo`` while local processes exchange real HTTP, HTTPS, DNS and MQTT traffic
(a benign ward) and then attack-like traffic (port scan, UDP flood, HTTP burst) on a fresh
127.x.0.0/16; the BPF filter keeps exactly that network, so the test's own Kafka traffic on
127.0.0.1 is never captured.
"""

from __future__ import annotations

import io
import ipaddress
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console as RichConsole
from support.kafka import IsolatedSettings, consume_all
from support.live import fresh_hosts, require_live_capture
from support.signing import suite_signer
from support.worker import WorkerProcess, free_port

from iotad.capture import CaptureOptions
from iotad.capture.live import LiveCapture, TcpdumpOptions
from iotad.capture.traffic import (
    AttackPlan,
    BenignPlan,
    LocalServers,
    attack_traffic,
    benign_traffic,
)
from iotad.cli.capture_live import LiveRequest, capture_live
from iotad.console import Console
from iotad.schemas.messages import Alert, FlowBatch
from iotad.schemas.signing import sign_bundle

pytestmark = pytest.mark.kafka

MODELS = Path(__file__).resolve().parents[2] / "models"
GATEWAY = "gw-live-test"


def _default_bundle(dest: Path) -> Path:
    """A copy of the default (real-data) bundle, signed with the suite's key the worker trusts."""
    source = MODELS / orjson.loads((MODELS / "defaults.json").read_bytes())["default"]
    shutil.copytree(source, dest)
    sign_bundle(dest, suite_signer())
    return dest


def test_live_loopback_capture_is_scored_and_alerts_name_the_hosts(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    require_live_capture()
    settings = isolated_settings(
        partitions=2,
        stream={"web_port": free_port(), "batch_within_s": 0.02},
        capture={"gateway_id": GATEWAY, "batch": 20},
    )
    hosts = fresh_hosts()
    network = ipaddress.ip_network(hosts.network)
    worker = WorkerProcess(
        settings, tmp_path / "worker.log", bundle=_default_bundle(tmp_path / "bundle")
    )
    console = Console(out=RichConsole(file=io.StringIO()), err=RichConsole(file=io.StringIO()))
    result: dict[str, Any] = {}
    try:
        worker.wait_ready()
        with LocalServers(hosts) as servers:
            live = LiveCapture(TcpdumpOptions("lo", hosts.bpf)).start()
            request = LiveRequest("lo", hosts.bpf, linger_s=0.2)

            def run() -> None:
                result["out"] = capture_live(
                    settings, CaptureOptions(), request, console, live=live
                )

            capturing = threading.Thread(target=run, daemon=True)
            began_ms = time.time_ns() // 1_000_000
            capturing.start()
            benign = benign_traffic(servers, BenignPlan(duration_s=3.0, interval_s=0.05))
            attack = attack_traffic(
                servers, AttackPlan(scan_ports=300, flood_packets=1500, burst_requests=60)
            )
            live.stop("test traffic done")
            capturing.join(60)
        ended_ms = time.time_ns() // 1_000_000
        assert not capturing.is_alive(), "the live capture did not end after stop()"
        assert benign.exchanges["mqtt_publish"] > 0 and benign.exchanges["dns"] > 0
        assert attack.exchanges["udp_flood"] == 1 and attack.exchanges["http_burst"] > 0

        summary, written, _ = result["out"]
        assert live.stats is not None, "tcpdump's statistics were not collected"
        assert live.stats.captured == summary.packets_read == live.records
        assert summary.packets_read == summary.packets_used + summary.packets_skipped
        assert summary.windows > 50 and written == summary.windows

        # Every window reached the flows topic with its gateway, times and hosts.
        records = consume_all(settings.kafka.bootstrap_servers, settings.topics.flows, idle_s=3.0)
        batches = [FlowBatch.model_validate_json(value) for _, value in records]
        assert sum(b.count for b in batches) == summary.windows
        for batch in batches:
            assert batch.gateway_id == GATEWAY
            assert all(began_ms - 1000 <= t <= ended_ms for t in batch.event_time_ms)
            assert batch.src_ip is not None and batch.dst_ip is not None
            for ip in (*batch.src_ip, *batch.dst_ip):
                assert ip is not None and ipaddress.ip_address(ip) in network, ip

        # The worker scored every window (and refused none).
        scored = worker.wait_metric("iotad_flows_scored_total", summary.windows)
        assert scored == summary.windows
        assert worker.metric("iotad_flows_in_total") == summary.windows
        alerted = sum(
            value for (name, _), value in worker.metrics().items() if name == "iotad_alerts_total"
        )

        # Alerts name loopback hosts of the ward, and the attack burst raised some.
        alert_records = consume_all(
            settings.kafka.bootstrap_servers,
            settings.topics.alerts,
            expected=int(alerted),
            idle_s=3.0,
        )
        alerts = [Alert.model_validate_json(value) for _, value in alert_records]
        assert len(alerts) == alerted
        for alert in alerts:
            assert alert.gateway_id == GATEWAY and alert.src_ip and alert.dst_ip
            assert ipaddress.ip_address(alert.src_ip) in network
            assert ipaddress.ip_address(alert.dst_ip) in network
        from_attacker = [a for a in alerts if hosts.attacker in (a.src_ip, a.dst_ip)]
        assert from_attacker, f"no alert names the attacker {hosts.attacker}: {alerts[:3]}"
    finally:
        worker.stop()

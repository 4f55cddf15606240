"""Live capture inside a network namespace the test creates: the real ``iotad capture -i lo``
sees only the namespace's own traffic (no filter needed), and SIGTERM ends it cleanly.

Skipped, with the reason, where ``ip netns add`` is not allowed (no root, no CAP_SYS_ADMIN).
"""

from __future__ import annotations

import csv
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from support.live import fresh_hosts

REPO = Path(__file__).resolve().parents[2]

TRAFFIC = """
import orjson, sys
from iotad.capture.traffic import (AttackPlan, BenignPlan, LocalServers, LoopbackHosts,
                                   attack_traffic, benign_traffic)
hosts = LoopbackHosts(octet=int(sys.argv[1]))
with LocalServers(hosts) as servers:
    benign = benign_traffic(servers, BenignPlan(duration_s=1.5, interval_s=0.05))
    attack = attack_traffic(servers, AttackPlan(scan_ports=100, flood_packets=500,
                                                burst_requests=20))
sys.stdout.write(orjson.dumps({"benign": benign.exchanges, "attack": attack.exchanges}).decode())
"""


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A fresh network namespace with its loopback up (deleted afterwards)."""
    if shutil.which("ip") is None or shutil.which("tcpdump") is None:
        pytest.skip("needs the ip command (iproute2) and tcpdump (make system-deps)")
    name = f"iotad-{uuid.uuid4().hex[:8]}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {made.stderr.strip()}")
    try:
        up = _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        assert up.returncode == 0, up.stderr
        yield name
    finally:
        _ip("netns", "del", name)


def _wait_for(
    lines: list[str], text: str, process: subprocess.Popen[str], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(text in line for line in lines):
            return
        if process.poll() is not None:
            pytest.fail(f"iotad capture exited with {process.returncode}: {''.join(lines)}")
        time.sleep(0.05)
    pytest.fail(f"no {text!r} from iotad capture within {timeout_s}s: {''.join(lines)}")


def test_capture_in_a_namespace_sees_only_its_traffic(namespace: str, tmp_path: Path) -> None:
    hosts = fresh_hosts()
    out = tmp_path / "ns.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    exec_ns = ["ip", "netns", "exec", namespace, sys.executable]
    capture = subprocess.Popen(
        [*exec_ns, "-m", "iotad", "capture", "-i", "lo", "--duration", "60", "--csv", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(capture.stderr or ()), daemon=True)
    reader.start()
    try:
        _wait_for(err_lines, "listening on lo", capture, 30.0)
        traffic = subprocess.run(
            [*exec_ns, "-c", TRAFFIC, str(hosts.octet)],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert traffic.returncode == 0, traffic.stderr
        exchanged = orjson.loads(traffic.stdout)
        assert exchanged["benign"]["mqtt_publish"] > 0 and exchanged["attack"]["udp_flood"] == 1
        capture.send_signal(signal.SIGTERM)
        stdout, _ = capture.communicate(timeout=30)
    finally:
        if capture.poll() is None:
            capture.kill()
            capture.wait()
    reader.join(5)
    assert capture.returncode == 0, "".join(err_lines)
    assert "ended by SIGTERM" in stdout and "dropped by kernel" in stdout, stdout
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) > 20
    network = ipaddress.ip_network(hosts.network)
    hosts_seen = {row["src_ip"] for row in rows} | {row["dst_ip"] for row in rows}
    assert all(ipaddress.ip_address(ip) in network for ip in hosts_seen), hosts_seen
    assert hosts.attacker in hosts_seen and hosts.server in hosts_seen

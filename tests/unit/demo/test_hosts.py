"""Host assignment of the synthetic flows: who talks to whom, per segment pattern."""

from __future__ import annotations

import numpy as np
import pytest

from iotad.demo.hosts import OUTSIDE_HOSTS, WARD_SERVER, WardAddresses
from iotad.demo.scenario import WARD_DEVICES, Scenario, Segment
from iotad.errors import ConfigError
from iotad.schemas.labels import BENIGN_LABEL

SCENARIO = Scenario()


def _burst(name: str) -> Segment:
    return next(s for s in SCENARIO.bursts() if s.name == name)


def test_ward_devices_have_distinct_private_addresses() -> None:
    addresses = WardAddresses()
    ips = [addresses.of(d) for d in WARD_DEVICES]
    assert len(set(ips)) == len(WARD_DEVICES) and all(ip.startswith("10.20.3.") for ip in ips)
    assert addresses.server_of("infusion-pump-w3-01") == "10.20.1.10"
    assert addresses.server_of("nurse-call-w2-01") == WARD_SERVER
    with pytest.raises(ValueError, match="not a ward device"):
        addresses.of("toaster")


def test_benign_flows_go_between_a_device_and_its_server_both_ways() -> None:
    addresses, rng = WardAddresses(), np.random.default_rng(0)
    device = "pacs-viewer-rad-02"
    flows = [addresses.hosts(SCENARIO.segments[0], BENIGN_LABEL, device, rng) for _ in range(200)]
    pairs = {(f.src_ip, f.dst_ip) for f in flows}
    own, server = addresses.of(device), addresses.server_of(device)
    assert pairs == {(own, server), (server, own)}
    assert {f.device_id for f in flows} == {device}


def test_an_inbound_burst_goes_from_its_one_attacker_to_the_attacked_devices() -> None:
    addresses, rng = WardAddresses(), np.random.default_rng(1)
    ddos = _burst("DDoS burst")
    flows = [addresses.hosts(ddos, ddos.labels[0], d, rng) for d in ddos.devices * 50]
    assert {f.src_ip for f in flows} == {ddos.attacker}
    assert {f.dst_ip for f in flows} == {addresses.of(d) for d in ddos.devices}
    assert all(addresses.of(f.device_id) == f.dst_ip for f in flows)


def test_a_scan_reaches_many_devices_from_one_source() -> None:
    addresses, rng = WardAddresses(), np.random.default_rng(2)
    scan = _burst("port scan")
    flows = [addresses.hosts(scan, "Recon-PortScan", scan.devices[0], rng) for _ in range(400)]
    assert {f.src_ip for f in flows} == {scan.attacker}
    assert {f.dst_ip for f in flows} == {addresses.of(d) for d in WARD_DEVICES}
    assert all(addresses.of(f.device_id) == f.dst_ip for f in flows)  # the device scanned
    assert addresses.burst_hosts(scan) == {scan.attacker, *(addresses.of(d) for d in WARD_DEVICES)}


def test_mirai_goes_from_the_compromised_device_to_outside() -> None:
    addresses, rng = WardAddresses(), np.random.default_rng(3)
    mirai = _burst("Mirai botnet")
    assert mirai.pattern == "outbound" and mirai.attacker is None
    flows = [addresses.hosts(mirai, mirai.labels[0], d, rng) for d in mirai.devices * 50]
    assert {f.src_ip for f in flows} == {addresses.of(d) for d in mirai.devices}
    assert {f.dst_ip for f in flows} <= set(OUTSIDE_HOSTS) and len({f.dst_ip for f in flows}) > 1


def test_every_burst_but_mirai_has_its_own_attacker() -> None:
    attackers = [s.attacker for s in SCENARIO.bursts() if s.pattern != "outbound"]
    assert len(attackers) == 5 and len(set(attackers)) == 5
    with pytest.raises(ConfigError, match="need an attacker"):
        Scenario((Segment("x", 0.0, 1.0, (("XSS", 1.0),), 0.5, ("smart-bed-w2-11",)),))

"""Who talks to whom in the demo's synthetic flows: addresses of the ward devices, their servers,
the attackers and the outside hosts a compromised device floods.

Benign flows go between a ward device and its server (either direction). Attack flows follow
their segment's ``pattern`` (:class:`~iotad.demo.scenario.Segment`): ``inbound`` bursts (floods,
web attacks, brute force) go from the burst's attacker to one of the attacked devices; a
``scan`` goes from its attacker to every ward device in turn (each flow's device is the device
scanned); ``outbound`` bursts (Mirai) go from a compromised device to hosts outside the hospital.
The incident key (iotad/stream/core/incident.py) then groups a burst by its victim or its source.
All addresses are private (10.20.0.0/16) or documentation ranges (RFC 5737): nothing is sent
anywhere, they are fields of the synthetic messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from iotad.demo.scenario import WARD_DEVICES, Segment
from iotad.schemas.labels import BENIGN_LABEL

#: Server of each kind of ward device (by the device id's prefix); others use the ward server.
SERVERS: dict[str, str] = {
    "infusion-pump": "10.20.1.10",
    "patient-monitor": "10.20.1.11",
    "ventilator": "10.20.1.11",
    "ecg-cart": "10.20.1.11",
    "dialysis-unit": "10.20.1.11",
    "pacs-viewer": "10.20.1.12",
    "ip-camera": "10.20.1.13",
}
WARD_SERVER = "10.20.1.20"
#: Hosts outside the hospital that a compromised device floods (RFC 5737 TEST-NET-2).
OUTSIDE_HOSTS: tuple[str, ...] = tuple(f"198.51.100.{n}" for n in (7, 23, 41, 66, 99, 142))


@dataclass(frozen=True)
class FlowHosts:
    """The device a flow is attributed to and its source and destination addresses."""

    device_id: str
    src_ip: str
    dst_ip: str


class WardAddresses:
    """Addresses of the ward's devices (10.20.3.x, in the order of ``devices``)."""

    def __init__(self, devices: Sequence[str] = WARD_DEVICES) -> None:
        if len(devices) > 240:
            raise ValueError(f"at most 240 ward devices fit in 10.20.3.0/24, not {len(devices)}")
        self.devices = tuple(devices)
        self.address = {device: f"10.20.3.{11 + i}" for i, device in enumerate(self.devices)}

    def of(self, device: str) -> str:
        """``device``'s address (ValueError for a device not on the ward)."""
        try:
            return self.address[device]
        except KeyError:
            raise ValueError(f"{device!r} is not a ward device") from None

    @staticmethod
    def server_of(device: str) -> str:
        """The server ``device`` talks to."""
        return next(
            (ip for prefix, ip in SERVERS.items() if device.startswith(prefix)), WARD_SERVER
        )

    def burst_hosts(self, segment: Segment) -> frozenset[str]:
        """The addresses an incident about ``segment`` can name: its attacker, the devices it
        attacks (every ward device for a scan) or the compromised devices."""
        devices = self.devices if segment.pattern == "scan" else segment.devices
        hosts = {self.of(d) for d in devices}
        if segment.attacker:
            hosts.add(segment.attacker)
        return frozenset(hosts)

    def hosts(
        self, segment: Segment, label: str, device: str, rng: np.random.Generator
    ) -> FlowHosts:
        """The hosts of one flow of ``segment`` with intended ``label``, drawn for ``device``."""
        if label == BENIGN_LABEL:
            own, server = self.of(device), self.server_of(device)
            pair = (own, server) if rng.random() < 0.5 else (server, own)
            return FlowHosts(device, *pair)
        if segment.pattern == "outbound":
            outside = OUTSIDE_HOSTS[int(rng.integers(len(OUTSIDE_HOSTS)))]
            return FlowHosts(device, self.of(device), outside)
        if segment.attacker is None:
            raise ValueError(f"segment {segment.name!r} has no attacker")
        if segment.pattern == "scan":
            device = self.devices[int(rng.integers(len(self.devices)))]
        return FlowHosts(device, segment.attacker, self.of(device))


__all__ = ["OUTSIDE_HOSTS", "SERVERS", "WARD_SERVER", "FlowHosts", "WardAddresses"]

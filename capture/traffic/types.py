"""What the local traffic generators share: the loopback hosts they use and what they report."""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field

#: Well-known server ports (CIC decides its protocol columns from port numbers).
HTTP_PORT = 80
HTTPS_PORT = 443
DNS_PORT = 53
MQTT_PORT = 1883


@dataclass(frozen=True)
class LoopbackHosts:
    """The simulated hospital network, all on loopback addresses of this machine.

    Linux answers on every address of 127.0.0.0/8, so a ward's devices, its gateway's servers
    and an attacker each get their own address in ``127.<octet>.0.0/16`` (default 127.10.x.x):
    captures tell them apart and a BPF filter on :attr:`network` leaves out everything else on
    ``lo`` (a Kafka broker on 127.0.0.1, for one).

    Raises
    ------
    ValueError
        if any address is not a loopback address or lies outside :attr:`network`.
    """

    octet: int = 10
    devices: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.octet <= 254:
            raise ValueError(f"octet must be in 1..254, got {self.octet}")
        if not 1 <= self.devices <= 250:
            raise ValueError(f"devices must be in 1..250, got {self.devices}")
        net = ipaddress.ip_network(self.network)
        for address in (self.server, self.attacker, *self.device_addresses):
            ip = ipaddress.ip_address(address)
            if not ip.is_loopback or ip not in net:
                raise ValueError(f"{address} is not a loopback address in {self.network}")

    @property
    def network(self) -> str:
        """The /16 every generated packet stays in (a BPF ``net`` expression)."""
        return f"127.{self.octet}.0.0/16"

    @property
    def server(self) -> str:
        """The gateway's services (HTTP, HTTPS, DNS, MQTT, the flood sink)."""
        return f"127.{self.octet}.0.1"

    @property
    def device_addresses(self) -> tuple[str, ...]:
        """One address per medical device."""
        return tuple(f"127.{self.octet}.1.{i + 1}" for i in range(self.devices))

    @property
    def attacker(self) -> str:
        """Where attack-like traffic comes from."""
        return f"127.{self.octet}.9.1"

    @property
    def bpf(self) -> str:
        """A capture filter for exactly this network's packets."""
        return f"net {self.network}"


@dataclass(frozen=True)
class ServerPorts:
    """The ports the local servers listen on (well-known ones where this process may bind)."""

    http: int
    https: int
    dns: int
    mqtt: int
    sink: int


@dataclass
class TrafficReport:
    """What a generator exchanged, by kind, and what went wrong (never silently)."""

    exchanges: Counter[str] = field(default_factory=Counter)
    packets_sent: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def merge(self, other: TrafficReport) -> TrafficReport:
        """This report plus ``other`` (elapsed times add up)."""
        return TrafficReport(
            self.exchanges + other.exchanges,
            self.packets_sent + other.packets_sent,
            self.errors + other.errors,
            self.elapsed_s + other.elapsed_s,
        )


__all__ = [
    "DNS_PORT",
    "HTTPS_PORT",
    "HTTP_PORT",
    "MQTT_PORT",
    "LoopbackHosts",
    "ServerPorts",
    "TrafficReport",
]

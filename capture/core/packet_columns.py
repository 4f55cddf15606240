"""Per-packet feature columns, before they are averaged into windows (docs/capture.md).

One row per IPv4/ARP packet, in the column order of :data:`PACKET_COLUMNS`. ``IAT`` is the
time since the previous packet of the same source that made a row, and ``Rate`` its inverse
(packets per second); see :class:`Clock` for the first packet and equal timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iotad.capture.core.flows import FlowColumns
from iotad.capture.core.types import F64, DecodedPackets

FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("fin_flag_number", 0x01),
    ("syn_flag_number", 0x02),
    ("rst_flag_number", 0x04),
    ("psh_flag_number", 0x08),
    ("ack_flag_number", 0x10),
    ("ece_flag_number", 0x40),
    ("cwr_flag_number", 0x80),
    ("urg_flag_number", 0x20),
)

#: Application indicators decided by port numbers (either end), on TCP or on UDP packets.
TCP_PORTS: dict[str, tuple[int, ...]] = {
    "HTTP": (80,),
    "HTTPS": (443,),
    "Telnet": (23,),
    "SMTP": (25,),
    "SSH": (22,),
    "IRC": (194, 6667),
}
UDP_PORTS: dict[str, tuple[int, ...]] = {"DNS": (53,), "DHCP": (67, 68)}

INDICATORS: tuple[str, ...] = (
    "HTTP", "HTTPS", "DNS", "Telnet", "SMTP", "SSH", "IRC", "TCP", "UDP", "DHCP", "ARP", "ICMP",
    "IGMP", "IPv", "LLC",
)  # fmt: skip

PACKET_COLUMNS: tuple[str, ...] = (
    ("Header_Length", "Protocol Type", "Time_To_Live", "Rate")
    + tuple(name for name, _ in FLAG_BITS)
    + INDICATORS
    + ("size", "IAT", "ts", "flow_duration", "flow_octets", "flow_rate", "Srate", "Drate")
)
COLUMN: dict[str, int] = {name: i for i, name in enumerate(PACKET_COLUMNS)}


@dataclass
class Clock:
    """Inter-arrival state carried between batches of one source.

    The first packet has ``IAT`` 0 and ``Rate`` 0. A packet with the same timestamp as the one
    before (or an earlier one: out-of-order records count as a gap of 0) keeps the previous
    packet's rate, as CIC's extractor keeps its last rate; this keeps ``Rate`` finite.
    """

    last_ts: float | None = None
    last_rate: float = 0.0

    def tick(self, ts: F64) -> tuple[F64, F64]:
        """``(IAT, Rate)`` of each packet with timestamps ``ts``."""
        if not len(ts):
            return np.zeros(0), np.zeros(0)
        previous = np.empty_like(ts)
        previous[0] = ts[0] if self.last_ts is None else self.last_ts
        previous[1:] = ts[:-1]
        iat = np.maximum(ts - previous, 0.0)
        has_gap = iat > 0
        inverse = np.divide(1.0, iat, out=np.zeros_like(iat), where=has_gap)
        # forward-fill the last rate over zero gaps (position 0 reads the carried rate)
        source = np.where(has_gap, np.arange(1, len(ts) + 1), 0)
        np.maximum.accumulate(source, out=source)
        rate = np.r_[self.last_rate, inverse][source]
        self.last_ts, self.last_rate = float(ts[-1]), float(rate[-1])
        return iat, rate


def packet_matrix(packets: DecodedPackets, clock: Clock, flows: FlowColumns | None) -> F64:
    """The per-packet rows of ``packets`` (``len(packets)`` × ``len(PACKET_COLUMNS)``)."""
    n = len(packets)
    matrix = np.zeros((n, len(PACKET_COLUMNS)))
    iat, rate = clock.tick(packets.ts)
    ipv4 = ~packets.is_arp
    columns: dict[str, np.ndarray] = {
        "Header_Length": packets.header_len,
        "Protocol Type": packets.proto,
        "Time_To_Live": packets.ttl,
        "Rate": rate,
        "TCP": packets.is_tcp,
        "UDP": packets.is_udp,
        "ARP": packets.is_arp,
        "ICMP": ipv4 & (packets.proto == 1),
        "IGMP": ipv4 & (packets.proto == 2),
        "IPv": ipv4,
        "LLC": ipv4,
        "size": packets.size,
        "IAT": iat,
        "ts": packets.ts,
    }
    for name, bit in FLAG_BITS:
        columns[name] = (packets.tcp_flags & bit) != 0
    for ports, carrier in ((TCP_PORTS, packets.is_tcp), (UDP_PORTS, packets.is_udp)):
        for name, numbers in ports.items():
            either = np.isin(packets.src_port, numbers) | np.isin(packets.dst_port, numbers)
            columns[name] = carrier & either
    if flows is not None:
        columns.update(
            flow_duration=flows.duration,
            flow_octets=flows.octets,
            flow_rate=flows.rate,
            Srate=flows.srate,
            Drate=flows.drate,
        )
    for name, values in columns.items():
        matrix[:, COLUMN[name]] = values
    return matrix


__all__ = [
    "COLUMN",
    "FLAG_BITS",
    "INDICATORS",
    "PACKET_COLUMNS",
    "TCP_PORTS",
    "UDP_PORTS",
    "Clock",
    "packet_matrix",
]

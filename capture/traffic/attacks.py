"""Attack-like traffic, only ever to a loopback address: port scans, a UDP flood, an HTTP
request burst. Each is bounded by a packet or request count and a deadline.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import struct
import time
from collections.abc import Iterable

from iotad.capture.traffic.types import TrafficReport
from iotad.capture.traffic.web import get

logger = logging.getLogger(__name__)

_TCP_SYN = 0x02


def require_loopback(address: str) -> str:
    """``address`` if it is a loopback address.

    Raises
    ------
    ValueError
        otherwise: generated attack traffic never leaves this machine.
    """
    if not ipaddress.ip_address(address).is_loopback:
        raise ValueError(f"generated traffic only goes to loopback addresses, not {address}")
    return address


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def syn_segment(source: str, target: str, sport: int, dport: int, seq: int) -> bytes:
    """A TCP SYN segment (20-byte header, no options) with its checksum."""
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, _TCP_SYN, 1024, 0, 0)
    pseudo = socket.inet_aton(source) + socket.inet_aton(target)
    pseudo += struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header))
    return header[:16] + struct.pack("!H", checksum(pseudo + header)) + header[18:]


def syn_scan(target: str, ports: Iterable[int], source: str, *, sport: int = 40_000) -> int:
    """Send one SYN to each port of ``target`` from ``source`` with a raw socket; how many.

    The kernel answers for both ends: RST from closed ports, SYN-ACK from open ones (then RST
    from this side, which has no socket for it), as in a real half-open scan.

    Raises
    ------
    PermissionError
        without CAP_NET_RAW (use :func:`connect_scan` instead).
    """
    require_loopback(target)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP) as sock:
        sock.bind((source, 0))
        for i, port in enumerate(ports):
            sock.sendto(syn_segment(source, target, sport, port, 1000 + i), (target, 0))
            sent += 1
    return sent


def connect_scan(target: str, ports: Iterable[int], source: str) -> tuple[int, int]:
    """Try a TCP connection to each port of ``target`` from ``source``; (open, closed)."""
    require_loopback(target)
    opened = closed = 0
    for port in ports:
        try:
            with socket.create_connection((target, port), timeout=0.5, source_address=(source, 0)):
                opened += 1
        except OSError:
            closed += 1
    return opened, closed


def port_scan(target: str, ports: list[int], source: str, report: TrafficReport) -> None:
    """A SYN scan where raw sockets are allowed, else a connect scan; counted in ``report``."""
    try:
        report.packets_sent["syn_scan"] += syn_scan(target, ports, source)
        report.exchanges["syn_scan"] += 1
    except PermissionError:
        logger.info("no raw sockets here: connect scan of %d ports instead", len(ports))
        opened, closed = connect_scan(target, ports, source)
        report.exchanges["connect_scan"] += 1
        report.packets_sent["connect_scan"] += opened + closed


def udp_flood(
    target: tuple[str, int], source: str, *, packets: int, size: int = 512, deadline_s: float = 5.0
) -> int:
    """Send up to ``packets`` datagrams of ``size`` bytes as fast as possible; how many went."""
    require_loopback(target[0])
    payload = bytes(size)
    sent = 0
    stop_at = time.monotonic() + deadline_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        while sent < packets and (sent % 256 or time.monotonic() < stop_at):
            sock.sendto(payload, target)
            sent += 1
    return sent


def http_burst(
    server: tuple[str, int], source: str, *, requests: int, deadline_s: float = 10.0
) -> tuple[int, int]:
    """Up to ``requests`` GETs, each on a new connection, as fast as possible; (ok, failed)."""
    require_loopback(server[0])
    ok = failed = 0
    stop_at = time.monotonic() + deadline_s
    for i in range(requests):
        if time.monotonic() >= stop_at:
            break
        try:
            ok += get(server, source, f"/login?user=admin&try={i}")
        except (OSError, http.client.HTTPException) as exc:
            failed += 1
            logger.debug("http burst request %d failed: %s", i, exc)
    return ok, failed


__all__ = [
    "checksum",
    "connect_scan",
    "http_burst",
    "port_scan",
    "require_loopback",
    "syn_scan",
    "syn_segment",
    "udp_flood",
]

"""A small pcap of generated packets: a ward's benign traffic, then attack bursts.

For the demo's built-in packet stage (``iotad demo``) and anywhere a capture file is wanted
without capture rights: Ethernet/IPv4/TCP/UDP frames built with :mod:`struct` (checksums
included) and written as a classic pcap. The packets never touch a network; their addresses
(a private 10.20.3.0/24 ward) exist only in the file.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from iotad.capture.traffic.attacks import checksum

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
GATEWAY, ATTACKER = "10.20.3.1", "10.20.3.66"
DEVICES = ("10.20.3.11", "10.20.3.12", "10.20.3.13", "10.20.3.14")
_MAC = (bytes.fromhex("02000a140301"), bytes.fromhex("02000a140342"))


@dataclass(frozen=True)
class Frame:
    """One generated packet: its time (epoch seconds) and Ethernet frame."""

    ts: float
    data: bytes


def _ipv4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    addresses = bytes(map(int, src.split("."))) + bytes(map(int, dst.split(".")))
    header = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), 0, 0x4000, ttl, proto, 0)
    header += addresses
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    if proto in (6, 17):  # transport checksum over the pseudo-header
        pseudo = addresses + struct.pack("!BBH", 0, proto, len(payload))
        at = 16 if proto == 6 else 6
        payload = payload[:at] + struct.pack("!H", checksum(pseudo + payload)) + payload[at + 2 :]
    return header + payload


def _frame(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    frame = _MAC[0] + _MAC[1] + b"\x08\x00" + _ipv4(src, dst, proto, payload, ttl)
    return frame + bytes(max(0, 60 - len(frame)))


def tcp(src: str, dst: str, sport: int, dport: int, flags: int, body: bytes = b"") -> bytes:
    """An Ethernet frame carrying a TCP segment."""
    segment = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, flags, 64240, 0, 0) + body
    return _frame(src, dst, 6, segment)


def udp(src: str, dst: str, sport: int, dport: int, body: bytes = b"") -> bytes:
    """An Ethernet frame carrying a UDP datagram."""
    return _frame(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body)


def _benign(rng: random.Random, t: float, ticks: int) -> Iterator[Frame]:
    for tick in range(ticks):
        for i, device in enumerate(DEVICES):
            now = t + tick * 0.05 + i * 0.004
            body = b'{"hr":%d,"spo2":%d}' % (rng.randint(55, 110), rng.randint(92, 100))
            yield Frame(now, tcp(device, GATEWAY, 40100 + i, 1883, PSH | ACK, b"0" + body))
            yield Frame(now + 0.0004, tcp(GATEWAY, device, 1883, 40100 + i, ACK))
            if tick % 8 == i:
                yield Frame(now + 0.001, udp(device, GATEWAY, 50000 + tick, 53, bytes(33)))
                yield Frame(now + 0.0015, udp(GATEWAY, device, 53, 50000 + tick, bytes(49)))
            if tick % 16 == i:
                yield Frame(
                    now + 0.002, tcp(device, GATEWAY, 41100 + i, 443, PSH | ACK, bytes(517))
                )
                yield Frame(
                    now + 0.003, tcp(GATEWAY, device, 443, 41100 + i, PSH | ACK, bytes(1200))
                )


def _syn_scan(t: float, ports: int) -> Iterator[Frame]:
    for port in range(1, ports + 1):
        yield Frame(t + port * 0.0005, tcp(ATTACKER, GATEWAY, 61000, port, SYN))
        yield Frame(t + port * 0.0005 + 0.0001, tcp(GATEWAY, ATTACKER, port, 61000, RST | ACK))


def _udp_flood(t: float, packets: int) -> Iterator[Frame]:
    for i in range(packets):
        yield Frame(t + i * 0.0002, udp(ATTACKER, GATEWAY, 30000 + i % 64, 9999, bytes(512)))


def _http_burst(t: float, requests: int) -> Iterator[Frame]:
    ask = b"GET /login?user=admin HTTP/1.1\r\nHost: 10.20.3.1\r\n\r\n"
    for i in range(requests):
        now, port = t + i * 0.004, 52000 + i
        yield Frame(now, tcp(ATTACKER, GATEWAY, port, 80, SYN))
        yield Frame(now + 0.0002, tcp(GATEWAY, ATTACKER, 80, port, SYN | ACK))
        yield Frame(now + 0.0004, tcp(ATTACKER, GATEWAY, port, 80, PSH | ACK, ask))
        yield Frame(now + 0.0010, tcp(GATEWAY, ATTACKER, 80, port, PSH | ACK, bytes(180)))
        yield Frame(now + 0.0012, tcp(ATTACKER, GATEWAY, port, 80, FIN | ACK))


def ward_frames(start_ts: float, *, seed: int = 42, scale: int = 1) -> list[Frame]:
    """A ward's traffic from ``start_ts``: 3.5 s of benign telemetry, DNS and HTTPS, with a
    SYN scan at 1.5 s, a UDP flood at 2 s and an HTTP burst at 2.5 s (``scale`` multiplies
    every count; 1 gives about 3,000 packets, sorted by time)."""
    rng = random.Random(seed)
    frames = list(_benign(rng, start_ts, 70 * scale))
    frames += _syn_scan(start_ts + 1.5, 400 * scale)
    frames += _udp_flood(start_ts + 2.0, 1000 * scale)
    frames += _http_burst(start_ts + 2.5, 100 * scale)
    frames.sort(key=lambda f: f.ts)
    return frames


def write_pcap(path: Path, frames: list[Frame]) -> Path:
    """``frames`` as a classic little-endian pcap (microseconds, Ethernet)."""
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for frame in frames:
        sec = int(frame.ts)
        usec = min(999_999, round((frame.ts - sec) * 1e6))
        parts.append(struct.pack("<IIII", sec, usec, len(frame.data), len(frame.data)))
        parts.append(frame.data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(parts))
    return path


__all__ = ["ATTACKER", "DEVICES", "GATEWAY", "Frame", "tcp", "udp", "ward_frames", "write_pcap"]

"""Synthetic packet traffic for the capture benchmarks: raw frames built with ``struct``.

Independent of iotad's parsing code. Each scenario yields ``(timestamp_s, frame)`` pairs of
one kind of traffic (a SYN flood, a UDP flood, a port scan, HTTP, DNS, a benign mix…), with
the addresses, ports, sizes and pacing drawn from a seeded generator.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

T0 = 1_700_000_000.0
SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04
Frames = Iterator[tuple[float, bytes]]


def _ip(a: int) -> bytes:
    return struct.pack("!I", a)


def _eth(payload: bytes, ethertype: int = 0x0800) -> bytes:
    frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" + struct.pack("!H", ethertype)
    frame += payload
    return frame + bytes(max(0, 60 - len(frame)))


def _ipv4(src: int, dst: int, proto: int, body: bytes, ttl: int = 64) -> bytes:
    head = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, ttl, proto, 0, _ip(src), _ip(dst)
    )
    return head + body


def tcp_frame(
    src: int,
    dst: int,
    sport: int,
    dport: int,
    flags: int,
    payload: int = 0,
    options: int = 0,
    ttl: int = 64,
) -> bytes:
    """An Ethernet/IPv4/TCP frame: ``payload`` bytes of data, ``options`` bytes of options."""
    head = struct.pack(
        "!HHIIBBHHH", sport, dport, 1, 1, (5 + options // 4) << 4, flags, 64240, 0, 0
    )
    return _eth(_ipv4(src, dst, 6, head + b"\x01" * options + b"d" * payload, ttl))


def udp_frame(src: int, dst: int, sport: int, dport: int, payload: int, ttl: int = 64) -> bytes:
    """An Ethernet/IPv4/UDP frame."""
    return _eth(
        _ipv4(
            src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + payload, 0) + b"u" * payload, ttl
        )
    )


def icmp_frame(src: int, dst: int, payload: int = 56, ttl: int = 64) -> bytes:
    """An Ethernet/IPv4 ICMP echo request."""
    return _eth(_ipv4(src, dst, 1, struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"i" * payload, ttl))


def arp_frame(src: int, dst: int) -> bytes:
    """An ARP who-has."""
    body = struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02" * 6, _ip(src), bytes(6), _ip(dst)
    )
    return _eth(body, 0x0806)


HOST = 0x0A000005  # 10.0.0.5, the device under attack / the ward server


#: Shape of the gamma-distributed gaps: senders pace fairly evenly (coefficient of variation
#: 0.22), as the real rows suggest (their Rate × IAT is 1.01 at the median, where Poisson
#: arrivals would give far more).
GAP_SHAPE = 20.0


def _times(rng: np.random.Generator, count: int, mean_gap: float, start: float) -> np.ndarray:
    return start + np.cumsum(rng.gamma(GAP_SHAPE, mean_gap / GAP_SHAPE, count))


def syn_flood(rng: np.random.Generator, count: int, start: float = T0) -> Frames:
    """SYNs from many spoofed sources to port 80, about 30,000 packets/s."""
    for t in _times(rng, count, 3.3e-5, start):
        src = 0xC0A80000 | int(rng.integers(1, 65000))
        yield float(t), tcp_frame(src, HOST, int(rng.integers(1024, 65535)), 80, SYN)


def udp_flood(rng: np.random.Generator, count: int, start: float = T0) -> Frames:
    """Minimal UDP datagrams (60-byte frames) to random ports from a few bots, ~30,000/s."""
    bots = [0x0A000100 + i for i in range(8)]
    for t in _times(rng, count, 3.3e-5, start):
        yield (
            float(t),
            udp_frame(
                bots[int(rng.integers(8))],
                HOST,
                int(rng.integers(1024, 65535)),
                int(rng.integers(1, 65535)),
                18,
            ),
        )


def icmp_flood(rng: np.random.Generator, count: int, start: float = T0) -> Frames:
    """Minimal ICMP echo requests (60-byte frames) from many sources, about 30,000/s."""
    for t in _times(rng, count, 3.3e-5, start):
        yield float(t), icmp_frame(0xC0A80000 | int(rng.integers(1, 65000)), HOST, 18)


def port_scan(rng: np.random.Generator, count: int, start: float = T0) -> Frames:
    """A TCP SYN scan of one host's ports, with its RST/ACK (closed) and SYN/ACK (open) answers."""
    scanner = 0x0A000042
    for i, t in enumerate(_times(rng, count, 2e-3, start)):
        port = int(rng.integers(1, 10000))
        if i % 2 == 0:
            yield float(t), tcp_frame(scanner, HOST, 40000 + i % 1000, port, SYN, options=4)
        elif rng.random() < 0.9:
            yield float(t), tcp_frame(HOST, scanner, port, 40000 + i % 1000, RST | ACK)
        else:
            yield float(t), tcp_frame(HOST, scanner, port, 40000 + i % 1000, SYN | ACK, options=4)


def http(rng: np.random.Generator, count: int, start: float = T0) -> Frames:
    """Web browsing: request, answer segments and ACKs on port 80 and 443 connections."""
    client = 0x0A000014
    for i, t in enumerate(_times(rng, count, 5e-3, start)):
        port = 80 if i % 3 else 443
        sport = 50000 + (i // 20) % 5000
        step = i % 4
        if step == 0:
            yield float(t), tcp_frame(client, HOST, sport, port, PSH | ACK, 300, options=12)
        elif step in (1, 2):
            yield float(t), tcp_frame(HOST, client, port, sport, ACK, 1448, options=12)
        else:
            yield float(t), tcp_frame(client, HOST, sport, port, ACK, 0, options=12)


def dns(rng: np.random.Generator, count: int, start: float = T0) -> Frames:
    """DNS queries and answers."""
    client, resolver = 0x0A000014, 0x0A000035
    for i, t in enumerate(_times(rng, count, 0.02, start)):
        sport = 33000 + i // 2
        if i % 2 == 0:
            yield float(t), udp_frame(client, resolver, sport, 53, int(rng.integers(20, 45)))
        else:
            yield float(t), udp_frame(resolver, client, 53, sport, int(rng.integers(60, 200)))


def benign_mix(rng: np.random.Generator, count: int, start: float = T0) -> Frames:
    """Ward traffic: HTTPS and HTTP sessions, DNS, MQTT telemetry, ARP and the odd ping."""
    web, names, t = http(rng, count, start), dns(rng, count, start), start
    for _ in range(count):
        t += float(rng.gamma(GAP_SHAPE, 4e-3 / GAP_SHAPE))
        kind = rng.random()
        if kind < 0.6:
            yield t, next(web)[1]
        elif kind < 0.7:
            yield t, next(names)[1]
        elif kind < 0.92:
            sensor = 0x0A000100 | int(rng.integers(2, 40))
            yield (
                t,
                tcp_frame(sensor, HOST, 41000, 1883, PSH | ACK, int(rng.integers(20, 120)), ttl=64),
            )
        elif kind < 0.97:
            yield t, arp_frame(0x0A000001, 0x0A000100 | int(rng.integers(2, 40)))
        else:
            yield t, icmp_frame(0x0A000001, 0x0A000100 | int(rng.integers(2, 40)))


SCENARIOS: dict[str, Callable[[np.random.Generator, int, float], Frames]] = {
    "syn_flood": syn_flood,
    "udp_flood": udp_flood,
    "icmp_flood": icmp_flood,
    "port_scan": port_scan,
    "http": http,
    "dns": dns,
    "benign_mix": benign_mix,
}


def mixed(rng: np.random.Generator, count: int, pool: int = 4096) -> Frames:
    """A mix of every scenario (floods, scans, web, DNS, ARP…), from a pool of distinct frames."""
    frames: list[bytes] = []
    per = pool // len(SCENARIOS)
    for scenario in SCENARIOS.values():
        frames += [frame for _, frame in scenario(rng, per, T0)]
    picks = rng.integers(0, len(frames), count)
    times = _times(rng, count, 2e-5, T0)
    for t, pick in zip(times.tolist(), picks.tolist(), strict=True):
        yield t, frames[pick]


def write_pcap(path: Path, packets: Iterable[tuple[float, bytes]], chunk: int = 100_000) -> int:
    """Write a classic little-endian microsecond pcap, streaming; the number of packets."""
    record = struct.Struct("<IIII")
    written = 0
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        parts: list[bytes] = []
        for ts, frame in packets:
            sec = int(ts)
            parts.append(record.pack(sec, int((ts - sec) * 1e6), len(frame), len(frame)))
            parts.append(frame)
            written += 1
            if len(parts) >= 2 * chunk:
                out.write(b"".join(parts))
                parts.clear()
        out.write(b"".join(parts))
    return written


__all__ = ["SCENARIOS", "T0", "mixed", "write_pcap"]

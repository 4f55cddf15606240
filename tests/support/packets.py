"""Raw packet bytes and capture files for the capture tests, built with ``struct`` only.

Independent of iotad's own parsing code on purpose: a frame built here is what a NIC would
put on the wire, and the pcap/pcapng writers follow the file format specifications.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80


def ip4(text: str) -> bytes:
    """``"10.0.0.1"`` → 4 bytes."""
    return bytes(int(part) for part in text.split("."))


def ethernet(payload: bytes, ethertype: int = 0x0800, vlan: int | None = None) -> bytes:
    """An Ethernet II frame (optionally 802.1Q tagged), padded to 60 bytes like a NIC does."""
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    frame = MAC_B + MAC_A + tag + struct.pack("!H", ethertype) + payload
    return frame + bytes(max(0, 60 - len(frame)))


def ipv4(
    src: str,
    dst: str,
    proto: int,
    payload: bytes,
    *,
    ttl: int = 64,
    frag_offset: int = 0,
    more_fragments: bool = False,
    options: bytes = b"",
) -> bytes:
    """An IPv4 packet (checksum left 0: the decoder does not check it)."""
    ihl = 5 + len(options) // 4
    flags = (0x2000 if more_fragments else 0) | (frag_offset // 8)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        0,
        ihl * 4 + len(payload),
        1,
        flags,
        ttl,
        proto,
        0,
        ip4(src),
        ip4(dst),
    )
    return header + options + payload


def tcp(sport: int, dport: int, flags: int, payload: bytes = b"", *, options: bytes = b"") -> bytes:
    """A TCP segment with ``flags`` (``SYN | ACK`` …)."""
    doff = 5 + len(options) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, doff << 4, flags, 65535, 0, 0)
    return header + options + payload


def udp(sport: int, dport: int, payload: bytes = b"") -> bytes:
    """A UDP datagram."""
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp_echo(payload: bytes = b"x" * 56) -> bytes:
    """An ICMP echo request."""
    return struct.pack("!BBHHH", 8, 0, 0, 1, 1) + payload


def arp_request(sender: str, target: str) -> bytes:
    """An ARP who-has (the Ethernet payload)."""
    return struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, ip4(sender), bytes(6), ip4(target)
    )


def ipv6_udp(payload: bytes = b"hello") -> bytes:
    """An IPv6 packet carrying UDP (the Ethernet payload)."""
    body = udp(5353, 5353, payload)
    return struct.pack("!IHBB16s16s", 0x60000000, len(body), 17, 64, bytes(16), bytes(16)) + body


@dataclass(frozen=True)
class Packet:
    """One frame at a time, as a capture file holds it."""

    ts: float
    frame: bytes
    wire_len: int | None = None  # default: len(frame)


def write_pcap(
    path: Path,
    packets: Iterable[Packet],
    *,
    linktype: int = 1,
    big_endian: bool = False,
    nanoseconds: bool = False,
    snaplen: int = 262144,
) -> Path:
    """A classic pcap file (``.gz`` in ``path``'s name writes it gzip-compressed)."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    scale = 1_000_000_000 if nanoseconds else 1_000_000
    parts = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for p in packets:
        sec = int(p.ts)
        frac = round((p.ts - sec) * scale)
        wire = len(p.frame) if p.wire_len is None else p.wire_len
        parts.append(struct.pack(order + "IIII", sec, frac, len(p.frame), wire) + p.frame)
    return _write(path, b"".join(parts))


def write_pcapng(path: Path, packets: Iterable[Packet], *, linktypes: Sequence[int] = (1,)) -> Path:
    """A pcapng file: one section, one interface per link type, packets on interface 0."""
    blocks = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for linktype in linktypes:
        blocks.append(_block(1, struct.pack("<HHI", linktype, 0, 262144)))
    for p in packets:
        ticks = round(p.ts * 1_000_000)
        wire = len(p.frame) if p.wire_len is None else p.wire_len
        body = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(p.frame), wire)
        blocks.append(_block(6, body + p.frame + bytes(-len(p.frame) % 4)))
    return _write(path, b"".join(blocks))


def _block(btype: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


__all__ = [
    "ACK",
    "CWR",
    "ECE",
    "FIN",
    "PSH",
    "RST",
    "SYN",
    "URG",
    "Packet",
    "arp_request",
    "ethernet",
    "icmp_echo",
    "ip4",
    "ipv4",
    "ipv6_udp",
    "tcp",
    "udp",
    "write_pcap",
    "write_pcapng",
]

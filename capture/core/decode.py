"""Vectorised header decoding: a :class:`PacketBatch` → the fields of its IPv4 and ARP packets.

Every field is read at a fixed offset from each frame's start with numpy fancy indexing, so
the cost per packet is a few array operations, not a Python call. The rules follow what CIC's
dpkt-based extractor saw (docs/capture.md):

* a row is made for IPv4 and ARP packets only; IPv6 and other frames are counted and skipped;
* TCP and UDP headers are decoded only in unfragmented packets and first fragments
  (fragment offset 0) with enough bytes for the header, as dpkt does; ICMP and IGMP are
  recognised by the protocol number alone;
* the size of a packet is its Ethernet frame length; for other link types it is the length
  the frame would have on Ethernet (link header replaced by a 14-byte Ethernet header).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from iotad.capture.core.types import (
    BOOL,
    I64,
    RAW_ALIASES,
    DecodedPackets,
    LinkType,
    PacketBatch,
    SkipReason,
)

SUPPORTED_LINKTYPES: frozenset[int] = frozenset(int(t) for t in LinkType) | RAW_ALIASES

_IPV4, _ARP, _IPV6, _OTHER = 1, 2, 3, 0
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
_ETHERNET_HEADER = 14


class _Frames:
    """Byte reads at per-frame offsets (clipped to the buffer; callers mask by length)."""

    def __init__(self, batch: PacketBatch) -> None:
        self.data = batch.data
        self.last = len(batch.data) - 1

    def u8(self, at: I64) -> I64:
        return self.data[np.minimum(at, self.last)].astype(np.int64)

    def be16(self, at: I64) -> I64:
        return (self.u8(at) << 8) | self.u8(at + 1)

    def be32(self, at: I64) -> I64:
        return (self.be16(at) << 16) | self.be16(at + 2)

    def le32(self, at: I64) -> I64:
        return (
            self.u8(at) | (self.u8(at + 1) << 8) | (self.u8(at + 2) << 16) | (self.u8(at + 3) << 24)
        )


def decode(batch: PacketBatch) -> tuple[DecodedPackets, Counter[SkipReason]]:
    """The IPv4/ARP packets of ``batch`` and the count of the others by reason."""
    skipped: Counter[SkipReason] = Counter()
    n = len(batch)
    if batch.linktype not in SUPPORTED_LINKTYPES:
        skipped[SkipReason.UNSUPPORTED_LINKTYPE] += n
        return _empty(), skipped
    frames = _Frames(batch)
    start, cap = batch.offset, batch.cap_len
    l2, net, short = _link_layer(frames, batch)
    size = batch.wire_len.astype(np.float64)
    if batch.linktype != LinkType.ETHERNET:
        size = size - l2 + _ETHERNET_HEADER
    ip = start + l2
    room = cap - l2
    ihl = (frames.u8(ip) & 0x0F) * 4
    version = frames.u8(ip) >> 4
    is_v4 = (net == _IPV4) & ~short
    good_v4 = is_v4 & (room >= 20) & (version == 4) & (ihl >= 20) & (room >= ihl)
    is_arp = (net == _ARP) & ~short
    keep = good_v4 | is_arp
    _count(skipped, SkipReason.TRUNCATED_FRAME, short)
    _count(skipped, SkipReason.BAD_IPV4_HEADER, is_v4 & ~good_v4)
    _count(skipped, SkipReason.IPV6, (net == _IPV6) & ~short)
    _count(skipped, SkipReason.NON_IP, (net == _OTHER) & ~short)
    sel = np.flatnonzero(keep)
    ip, room, ihl, v4, arp = ip[sel], room[sel], ihl[sel], good_v4[sel], is_arp[sel]
    proto = np.where(v4, frames.u8(ip + 9), 0)
    total = frames.be16(ip + 2)
    payload = np.minimum(np.where(total > 0, total, room), room) - ihl
    first_fragment = (frames.be16(ip + 6) & 0x1FFF) == 0
    l4 = ip + ihl
    doff = (frames.u8(l4 + 12) >> 4) * 4
    is_tcp = v4 & (proto == 6) & first_fragment & (payload >= 20) & (doff >= 20)
    is_udp = v4 & (proto == 17) & first_fragment & (payload >= 8)
    has_ports = is_tcp | is_udp
    arp_ok = arp & (room >= 28) & (frames.be16(ip + 2) == 0x0800) & (frames.u8(ip + 5) == 4)
    src_ip = np.where(v4, frames.be32(ip + 12), np.where(arp_ok, frames.be32(ip + 14), 0))
    dst_ip = np.where(v4, frames.be32(ip + 16), np.where(arp_ok, frames.be32(ip + 24), 0))
    decoded = DecodedPackets(
        ts=batch.ts[sel],
        size=size[sel],
        proto=proto,
        ttl=np.where(v4, frames.u8(ip + 8), 0).astype(np.float64),
        header_len=np.where(is_tcp, doff, np.where(is_udp, 8, 0)).astype(np.float64),
        tcp_flags=np.where(is_tcp, frames.u8(l4 + 13), 0),
        is_tcp=is_tcp,
        is_udp=is_udp,
        is_arp=arp,
        src_port=np.where(has_ports, frames.be16(l4), 0),
        dst_port=np.where(has_ports, frames.be16(l4 + 2), 0),
        src_ip=src_ip.astype(np.uint32),
        dst_ip=dst_ip.astype(np.uint32),
        ts_base=batch.ts_base,
    )
    return decoded, skipped


def _link_layer(frames: _Frames, batch: PacketBatch) -> tuple[I64, I64, BOOL]:
    """Per frame: link-header length, network kind (IPv4/ARP/IPv6/other), too-short flag."""
    start, cap, link = batch.offset, batch.cap_len, batch.linktype
    n = len(start)
    if link == LinkType.ETHERNET:
        ethertype = frames.be16(start + 12)
        l2 = np.full(n, _ETHERNET_HEADER, dtype=np.int64)
        for _ in range(2):  # up to two VLAN tags (802.1Q, QinQ)
            tagged = np.isin(ethertype, _VLAN_TYPES)
            ethertype = np.where(tagged, frames.be16(start + l2 + 2), ethertype)
            l2 = np.where(tagged, l2 + 4, l2)
        return l2, _by_ethertype(ethertype), cap < l2
    if link == LinkType.LINUX_SLL:
        return np.full(n, 16, np.int64), _by_ethertype(frames.be16(start + 14)), cap < 16
    if link == LinkType.LINUX_SLL2:
        return np.full(n, 20, np.int64), _by_ethertype(frames.be16(start)), cap < 20
    if link in (LinkType.NULL, LinkType.LOOP):
        little = link == LinkType.NULL and batch.little_endian
        family = frames.le32(start) if little else frames.be32(start)
        kind = np.where(family == 2, _IPV4, np.where(np.isin(family, (24, 28, 30)), _IPV6, _OTHER))
        return np.full(n, 4, np.int64), kind, cap < 4
    version = frames.u8(start) >> 4  # raw IP: RAW, IPV4, IPV6 and the DLT aliases
    kind = np.where(version == 4, _IPV4, np.where(version == 6, _IPV6, _OTHER))
    return np.zeros(n, np.int64), kind, cap < 1


def _by_ethertype(ethertype: I64) -> I64:
    return np.select(
        [ethertype == 0x0800, ethertype == 0x0806, ethertype == 0x86DD],
        [_IPV4, _ARP, _IPV6],
        _OTHER,
    )


def _count(skipped: Counter[SkipReason], reason: SkipReason, mask: BOOL) -> None:
    count = int(np.count_nonzero(mask))
    if count:
        skipped[reason] += count


def _empty() -> DecodedPackets:
    f, i, b = np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool)
    u = np.zeros(0, np.uint32)
    return DecodedPackets(f, f, i, f, f, i, b, b, b, i, i, u, u)


__all__ = ["SUPPORTED_LINKTYPES", "decode"]

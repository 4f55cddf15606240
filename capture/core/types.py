"""What the capture core passes around: packet batches, decoded packets, windows, summaries.

A :class:`PacketSource` yields :class:`PacketBatch` objects: the raw frames of many packets
packed into one ``uint8`` buffer with per-packet offsets, so header fields are read with
vectorised numpy indexing instead of a Python loop per packet. A live source (libpcap) only
has to build batches with :meth:`PacketBatch.from_frames`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
BOOL = npt.NDArray[np.bool_]

#: Bytes of zeros after the last frame of a batch, so fixed-offset reads never leave the buffer.
PAD = 128


class LinkType(IntEnum):
    """The pcap link types the decoder understands (LINKTYPE_* numbers)."""

    NULL = 0  # BSD loopback: 4-byte address family in the writer's byte order
    ETHERNET = 1
    RAW = 101  # raw IPv4/IPv6, no link header
    LOOP = 108  # OpenBSD loopback: 4-byte address family, network byte order
    LINUX_SLL = 113
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276


#: DLT numbers some systems write for raw IP instead of 101.
RAW_ALIASES: frozenset[int] = frozenset({12, 14})


class SkipReason(StrEnum):
    """Why a packet (or the rest of a file) produced no feature row."""

    IPV6 = "ipv6"  # CICIoT2023's rows hold IPv4 and ARP packets only
    NON_IP = "non_ip"  # another ethertype (LLDP, 802.3/LLC, EAPOL…) or address family
    TRUNCATED_FRAME = "truncated_frame"  # shorter than its link-layer header
    BAD_IPV4_HEADER = "bad_ipv4_header"  # IHL < 5, or the header is not all captured
    UNSUPPORTED_LINKTYPE = "unsupported_linktype"  # pcapng interface of an unknown link type
    TRUNCATED_RECORD = "truncated_record"  # the file ends inside a packet record
    CORRUPT_RECORD = "corrupt_record"  # impossible record/block length: rest of file unread


@dataclass
class PacketBatch:
    """Frames of one link type, packed: frame ``i`` is ``data[offset[i]:offset[i]+caplen[i]]``.

    Timestamps are ``ts_base + ts`` seconds: ``ts_base`` is a whole number of seconds (the
    source's first) so that ``ts`` stays small and keeps sub-microsecond precision in float64.
    ``data`` ends with :data:`PAD` zero bytes. ``skipped`` counts records the reader could not
    turn into packets (a truncated or corrupt record), so nothing is dropped without a count.
    """

    linktype: int
    ts: F64
    wire_len: I64
    cap_len: I64
    offset: I64
    data: U8
    skipped: Counter[SkipReason] = field(default_factory=Counter)
    #: For NULL (BSD loopback) captures: the writer's byte order was little-endian.
    little_endian: bool = True
    ts_base: float = 0.0

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_frames(
        cls,
        linktype: int,
        frames: Sequence[tuple[float, bytes, int]],
        *,
        little_endian: bool = True,
    ) -> PacketBatch:
        """A batch from ``(timestamp_s, frame bytes, wire length)`` triples (live capture)."""
        base = float(int(frames[0][0])) if frames else 0.0
        sizes = np.fromiter((len(f[1]) for f in frames), dtype=np.int64, count=len(frames))
        offset = np.zeros(len(frames), dtype=np.int64)
        if len(frames):
            offset[1:] = np.cumsum(sizes)[:-1]
        data = np.frombuffer(b"".join(f[1] for f in frames) + bytes(PAD), dtype=np.uint8)
        return cls(
            linktype=linktype,
            ts=np.fromiter((f[0] - base for f in frames), dtype=np.float64, count=len(frames)),
            wire_len=np.fromiter((f[2] for f in frames), dtype=np.int64, count=len(frames)),
            cap_len=sizes,
            offset=offset,
            data=data,
            little_endian=little_endian,
            ts_base=base,
        )


class PacketSource(Protocol):
    """Anything that yields packet batches in capture order (a file, an interface)."""

    @property
    def name(self) -> str:
        """What the source is called in ids and the summary (a file stem, an interface)."""
        ...

    def batches(self) -> Iterator[PacketBatch]:
        """The packets, in order, a batch at a time (a batch may hold only skip counts)."""
        ...


@dataclass
class DecodedPackets:
    """Per-packet header fields of the packets that make feature rows (IPv4 and ARP).

    Timestamps are ``ts_base + ts`` seconds, as in :class:`PacketBatch`.
    """

    ts: F64
    size: F64  # Ethernet frame length in bytes (see docs/capture.md)
    proto: I64  # IP protocol number; 0 for ARP
    ttl: F64
    header_len: F64  # TCP data offset × 4, 8 for UDP, 0 otherwise
    tcp_flags: I64  # the TCP flags byte (FIN=1 … CWR=128); 0 when not TCP
    is_tcp: BOOL
    is_udp: BOOL
    is_arp: BOOL
    src_port: I64
    dst_port: I64
    src_ip: U32
    dst_ip: U32
    ts_base: float = 0.0

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class FeatureRows:
    """Feature windows: ``values[i]`` is window ``i`` in the order of ``names``."""

    names: tuple[str, ...]
    values: F64
    #: Epoch seconds of each window's first and last packet.
    first_ts: F64
    last_ts: F64
    window_index: I64
    src_ip: list[str | None]
    dst_ip: list[str | None]

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class CaptureSummary:
    """What a capture did: packets read, turned into rows, and skipped by reason."""

    sources: int = 0
    packets_read: int = 0
    packets_used: int = 0
    windows: int = 0
    skipped: Counter[SkipReason] = field(default_factory=Counter)
    refused_sources: list[tuple[str, str]] = field(default_factory=list)
    first_ts: float | None = None
    last_ts: float | None = None
    elapsed_s: float = 0.0

    @property
    def packets_skipped(self) -> int:
        """Packets (and unreadable records) that made no row."""
        return sum(self.skipped.values())

    @property
    def packets_per_s(self) -> float:
        """Packets read per second of wall-clock time."""
        return self.packets_read / self.elapsed_s if self.elapsed_s > 0 else 0.0


__all__ = [
    "PAD",
    "RAW_ALIASES",
    "CaptureSummary",
    "DecodedPackets",
    "FeatureRows",
    "LinkType",
    "PacketBatch",
    "PacketSource",
    "SkipReason",
]

"""Classic pcap (libpcap) records → :class:`PacketBatch`, a chunk of the file at a time.

The loop over records only walks the record lengths (one ``struct`` read per record); the
timestamps and lengths of all records of a chunk are then read at once with numpy. Nothing is
copied per packet: frames stay where they are in the chunk's buffer.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass

import numpy as np

from iotad.capture.core.errors import CaptureFormatError
from iotad.capture.core.types import PAD, PacketBatch, SkipReason

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
HEADER_BYTES = 24
RECORD_BYTES = 16
#: Larger records are taken as corruption (libpcap's own limit is 262,144 bytes).
MAX_RECORD_BYTES = 1 << 20


@dataclass(frozen=True)
class PcapHeader:
    """The global header of a classic pcap file."""

    little_endian: bool
    nanoseconds: bool
    snaplen: int
    linktype: int


@dataclass
class ChunkResult:
    """Packets parsed from a chunk, bytes consumed, and whether the rest must be abandoned."""

    batches: list[PacketBatch]
    consumed: int
    stop: bool = False


def parse_pcap_header(head: bytes) -> PcapHeader:
    """The global header of a pcap file.

    Raises
    ------
    CaptureFormatError
        if ``head`` is not a classic pcap header.
    """
    if len(head) < HEADER_BYTES:
        raise CaptureFormatError(f"file too short for a pcap header ({len(head)} bytes)")
    for little in (True, False):
        order = "<" if little else ">"
        (magic,) = struct.unpack_from(order + "I", head)
        if magic in (MAGIC_US, MAGIC_NS):
            _, _, _, _, snaplen, network = struct.unpack_from(order + "HHiIII", head, 4)
            return PcapHeader(little, magic == MAGIC_NS, snaplen, network & 0xFFFF)
    raise CaptureFormatError(f"not a pcap file (magic {head[:4].hex()})")


def parse_pcap_records(
    buf: bytes, header: PcapHeader, *, final: bool, ts_base: float | None = None
) -> ChunkResult:
    """The complete records at the start of ``buf``.

    Timestamps are relative to ``ts_base`` (default: the first record's whole second).

    A record cut by the end of ``buf`` is left for the next chunk, or, when ``final``, counted
    as :attr:`SkipReason.TRUNCATED_RECORD`. An impossible record length is counted as
    :attr:`SkipReason.CORRUPT_RECORD` and ends the file (there is no way to find the next
    record in a classic pcap).
    """
    length_at = struct.Struct(("<" if header.little_endian else ">") + "I").unpack_from
    positions: list[int] = []
    append = positions.append
    pos = 0
    end = len(buf)
    stop = False
    skipped: Counter[SkipReason] = Counter()
    while pos + RECORD_BYTES <= end:
        incl = length_at(buf, pos + 8)[0]
        if incl > MAX_RECORD_BYTES:
            skipped[SkipReason.CORRUPT_RECORD] += 1
            stop = True
            break
        if pos + RECORD_BYTES + incl > end:
            break
        append(pos)
        pos += RECORD_BYTES + incl
    if stop:
        pos = end
    elif final and pos < end:
        skipped[SkipReason.TRUNCATED_RECORD] += 1
        pos = end
    batch = _batch(buf, np.asarray(positions, dtype=np.int64), header, ts_base)
    batch.skipped = skipped
    return ChunkResult([batch], pos, stop)


def _batch(
    buf: bytes, positions: np.ndarray, header: PcapHeader, ts_base: float | None
) -> PacketBatch:
    data = np.frombuffer(buf + bytes(PAD), dtype=np.uint8)
    dtype = np.dtype("<u4" if header.little_endian else ">u4")
    idx = positions[:, None] + np.arange(RECORD_BYTES, dtype=np.int64)[None, :]
    fields = data[idx].copy().view(dtype).astype(np.int64)  # (n, 4): sec, frac, incl, orig
    frac_unit = 1e-9 if header.nanoseconds else 1e-6
    if ts_base is None:
        ts_base = float(fields[0, 0]) if len(fields) else 0.0
    return PacketBatch(
        linktype=header.linktype,
        ts=(fields[:, 0] - int(ts_base)).astype(np.float64) + fields[:, 1] * frac_unit,
        ts_base=ts_base,
        wire_len=fields[:, 3],
        cap_len=fields[:, 2],
        offset=positions + RECORD_BYTES,
        data=data,
        little_endian=header.little_endian,
    )


__all__ = [
    "HEADER_BYTES",
    "MAGIC_NS",
    "MAGIC_US",
    "ChunkResult",
    "PcapHeader",
    "parse_pcap_header",
    "parse_pcap_records",
]

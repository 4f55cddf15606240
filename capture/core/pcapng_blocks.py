"""pcapng blocks → :class:`PacketBatch` (enhanced, simple and obsolete packet blocks).

Blocks carry their own length, so a block of an unknown type is skipped whole; a block whose
length is impossible ends the file with :attr:`SkipReason.CORRUPT_RECORD`. Packets of an
interface with a link type iotad cannot decode are counted as
:attr:`SkipReason.UNSUPPORTED_LINKTYPE`. Consecutive packets of one link type form one batch.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from iotad.capture.core.decode import SUPPORTED_LINKTYPES
from iotad.capture.core.errors import CaptureFormatError
from iotad.capture.core.pcap_records import ChunkResult
from iotad.capture.core.types import PAD, PacketBatch, SkipReason

SHB = 0x0A0D0D0A
BYTE_ORDER_MAGIC = 0x1A2B3C4D
IDB, OPB, SPB, EPB = 1, 2, 3, 6
_MAX_BLOCK = 1 << 24


@dataclass
class _Interface:
    linktype: int
    snaplen: int
    ts_unit: float


@dataclass
class PcapngParser:
    """Parses a pcapng stream chunk by chunk; interfaces are remembered between chunks."""

    little_endian: bool = True
    interfaces: list[_Interface] = field(default_factory=list)
    ts_base: float | None = None

    @classmethod
    def from_head(cls, head: bytes) -> PcapngParser:
        """A parser for a stream that starts with ``head`` (a section header block).

        Raises
        ------
        CaptureFormatError
            if ``head`` does not start a pcapng section.
        """
        if len(head) < 12 or struct.unpack_from("<I", head)[0] != SHB:
            raise CaptureFormatError("not a pcapng file")
        (magic,) = struct.unpack_from("<I", head, 8)
        if magic not in (BYTE_ORDER_MAGIC, 0x4D3C2B1A):
            raise CaptureFormatError(f"pcapng section header with bad byte-order magic {magic:#x}")
        return cls(little_endian=magic == BYTE_ORDER_MAGIC)

    def parse(self, buf: bytes, *, final: bool) -> ChunkResult:
        """The complete blocks at the start of ``buf`` (see the module docstring)."""
        records: list[tuple[int, int, int, int, int, int]] = []  # iface, hi, lo, cap, wire, pos
        skipped: Counter[SkipReason] = Counter()
        pos, end, stop = 0, len(buf), False
        while pos + 12 <= end:
            order = "<" if self.little_endian else ">"
            btype, blen = struct.unpack_from(order + "II", buf, pos)
            if btype == SHB:  # a new section may change the byte order
                (magic,) = struct.unpack_from("<I", buf, pos + 8)
                self.little_endian = magic == BYTE_ORDER_MAGIC
                order = "<" if self.little_endian else ">"
                (blen,) = struct.unpack_from(order + "I", buf, pos + 4)
                self.interfaces = []
            if blen < 12 or blen % 4 or blen > _MAX_BLOCK:
                skipped[SkipReason.CORRUPT_RECORD] += 1
                stop = True
                break
            if pos + blen > end:
                break
            try:
                self._block(buf, pos, btype, blen, order, records, skipped)
            except struct.error:  # a block too short for its own fields
                skipped[SkipReason.CORRUPT_RECORD] += 1
                stop = True
                break
            pos += blen
        if stop:
            pos = end
        elif final and pos < end:
            skipped[SkipReason.TRUNCATED_RECORD] += 1
            pos = end
        return ChunkResult(self._batches(buf, records, skipped), pos, stop)

    def _block(
        self,
        buf: bytes,
        pos: int,
        btype: int,
        blen: int,
        order: str,
        records: list[tuple[int, int, int, int, int, int]],
        skipped: Counter[SkipReason],
    ) -> None:
        body = pos + 8
        if btype == IDB:
            linktype, _, snaplen = struct.unpack_from(order + "HHI", buf, body)
            unit = _ts_unit(buf, body + 8, pos + blen - 4, order)
            self.interfaces.append(_Interface(linktype, snaplen, unit))
        elif btype == EPB:
            iface, hi, lo, cap, wire = struct.unpack_from(order + "IIIII", buf, body)
            self._record(records, skipped, iface, hi, lo, cap, wire, body + 20, pos + blen - 4)
        elif btype == SPB:
            (wire,) = struct.unpack_from(order + "I", buf, body)
            snap = self.interfaces[0].snaplen if self.interfaces else 0
            cap = min(wire, snap) if snap else wire
            self._record(records, skipped, 0, 0, 0, cap, wire, body + 4, pos + blen - 4)
        elif btype == OPB:
            iface, _, hi, lo, cap, wire = struct.unpack_from(order + "HHIIII", buf, body)
            self._record(records, skipped, iface, hi, lo, cap, wire, body + 20, pos + blen - 4)

    def _record(
        self,
        records: list[tuple[int, int, int, int, int, int]],
        skipped: Counter[SkipReason],
        iface: int,
        hi: int,
        lo: int,
        cap: int,
        wire: int,
        data_at: int,
        block_end: int,
    ) -> None:
        if iface >= len(self.interfaces) or data_at + cap > block_end:
            skipped[SkipReason.CORRUPT_RECORD] += 1
            return
        if self.interfaces[iface].linktype not in SUPPORTED_LINKTYPES:
            skipped[SkipReason.UNSUPPORTED_LINKTYPE] += 1
            return
        records.append((iface, hi, lo, cap, wire, data_at))

    def _batches(
        self,
        buf: bytes,
        records: list[tuple[int, int, int, int, int, int]],
        skipped: Counter[SkipReason],
    ) -> list[PacketBatch]:
        data = np.frombuffer(buf + bytes(PAD), dtype=np.uint8)
        if not records:
            empty = np.zeros(0, dtype=np.int64)
            return [PacketBatch(1, empty.astype(np.float64), empty, empty, empty, data, skipped)]
        table = np.asarray(records, dtype=np.int64)
        linktypes = np.asarray([self.interfaces[i].linktype for i in table[:, 0]])
        units = np.asarray([self.interfaces[i].ts_unit for i in table[:, 0]])
        ticks = (table[:, 1] << 32) | table[:, 2]
        per_second = np.rint(1.0 / units).astype(np.int64)
        seconds = ticks // per_second
        if self.ts_base is None:
            self.ts_base = float(seconds[0])
        ts = (seconds - int(self.ts_base)).astype(np.float64) + (ticks % per_second) * units
        cuts = np.flatnonzero(np.diff(linktypes)) + 1
        batches = []
        for run in np.split(np.arange(len(table)), cuts):
            batches.append(
                PacketBatch(
                    linktype=int(linktypes[run[0]]),
                    ts=ts[run],
                    wire_len=table[run, 4],
                    cap_len=table[run, 3],
                    offset=table[run, 5],
                    data=data,
                    little_endian=self.little_endian,
                    ts_base=self.ts_base,
                )
            )
        batches[0].skipped = skipped
        return batches


def _ts_unit(buf: bytes, at: int, end: int, order: str) -> float:
    """The interface's timestamp unit from its ``if_tsresol`` option (default 1 µs)."""
    while at + 4 <= end:
        code, length = struct.unpack_from(order + "HH", buf, at)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = buf[at + 4]
            return float(2.0 ** -(value & 0x7F)) if value & 0x80 else float(10.0**-value)
        at += 4 + ((length + 3) & ~3)
    return 1e-6


__all__ = ["PcapngParser"]

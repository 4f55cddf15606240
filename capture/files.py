"""Capture files as packet sources: pcap or pcapng, plain or gzip, read a chunk at a time.

The file is read in chunks of ``chunk_bytes``; a record cut by a chunk's end is carried to
the next chunk, so memory stays at about two chunks whatever the file's size.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from iotad.capture.core.decode import SUPPORTED_LINKTYPES
from iotad.capture.core.errors import CaptureFormatError
from iotad.capture.core.pcap_records import (
    HEADER_BYTES,
    ChunkResult,
    parse_pcap_header,
    parse_pcap_records,
)
from iotad.capture.core.pcapng_blocks import SHB, PcapngParser
from iotad.capture.core.types import PacketBatch, SkipReason

logger = logging.getLogger(__name__)

CHUNK_BYTES = 4 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
#: Errors of a file that ends or breaks mid-stream (gzip cut short, disk errors).
READ_ERRORS = (OSError, EOFError, zlib.error)


class CaptureFile:
    """A pcap/pcapng file (optionally gzip-compressed) as a :class:`PacketSource`.

    Raises
    ------
    CaptureFormatError
        from :meth:`check` or :meth:`batches` when the file is not a capture iotad can read
        (not pcap/pcapng, unknown link type); the message names the file and the reason.
    """

    def __init__(self, path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self.chunk_bytes = chunk_bytes

    @property
    def name(self) -> str:
        """The file's name without its capture extensions (``trace.pcap.gz`` → ``trace``)."""
        name = self.path.name
        for suffix in (".gz", ".pcapng", ".pcap", ".cap"):
            name = name.removesuffix(suffix)
        return name or self.path.name

    def check(self) -> None:
        """Read the file's header; raises :class:`CaptureFormatError` if it is unusable."""
        with self._open() as stream:
            self._parser(self._head(stream))

    def batches(self) -> Iterator[PacketBatch]:
        """The file's packets, a chunk at a time (see :class:`PacketBatch`)."""
        with self._open() as stream:
            head = self._head(stream)
            parse = self._parser(head)
            pending = head[HEADER_BYTES:] if _is_pcap(head) else head
            while True:
                try:
                    chunk = stream.read(self.chunk_bytes)
                except READ_ERRORS as exc:
                    yield _read_failure(self.path, exc)
                    chunk, final = b"", True
                final = not chunk
                buf = pending + chunk if pending else chunk
                result = parse(buf, final)
                yield from result.batches
                if result.stop or final:
                    return
                pending = buf[result.consumed :]

    def _open(self) -> BinaryIO:
        try:
            stream: BinaryIO = self.path.open("rb")
            if stream.read(2) == _GZIP_MAGIC:
                stream.close()
                return gzip.open(self.path, "rb")  # type: ignore[return-value]
            stream.seek(0)
            return stream
        except OSError as exc:
            raise CaptureFormatError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def _head(self, stream: BinaryIO) -> bytes:
        try:
            return stream.read(HEADER_BYTES)
        except READ_ERRORS as exc:
            raise CaptureFormatError(f"cannot read {self.path}: {exc}") from exc

    def _parser(self, head: bytes) -> Callable[[bytes, bool], ChunkResult]:
        if len(head) >= 4 and int.from_bytes(head[:4], "little") == SHB:
            ng = PcapngParser.from_head(head)
            return lambda buf, final: ng.parse(buf, final=final)
        try:
            header = parse_pcap_header(head)
        except CaptureFormatError as exc:
            raise CaptureFormatError(
                f"{self.path}: {exc.message}",
                hint="iotad capture reads pcap and pcapng files (also .gz)",
            ) from exc
        if header.linktype not in SUPPORTED_LINKTYPES:
            raise CaptureFormatError(
                f"{self.path}: link type {header.linktype} is not supported",
                hint="supported: Ethernet (1), Linux cooked SLL (113) and SLL2 (276), raw IP "
                "(101, 228, 229, 12, 14), BSD loopback (0, 108)",
            )
        base: list[float] = []

        def parse(buf: bytes, final: bool) -> ChunkResult:
            result = parse_pcap_records(buf, header, final=final, ts_base=base[0] if base else None)
            if not base and len(result.batches[0]):
                base.append(result.batches[0].ts_base)
            return result

        return parse


def _is_pcap(head: bytes) -> bool:
    return len(head) >= 4 and int.from_bytes(head[:4], "little") != SHB


def _read_failure(path: Path, exc: BaseException) -> PacketBatch:
    """An empty batch counting a read failure (the rest of the file is unreadable)."""
    logger.warning("%s: unreadable from here on, the rest is skipped: %s", path, exc)
    batch = PacketBatch.from_frames(1, [])
    batch.skipped[SkipReason.CORRUPT_RECORD] += 1
    return batch


__all__ = ["CHUNK_BYTES", "READ_ERRORS", "CaptureFile"]

"""The capture loop: packet sources → decode → feature windows → a row sink, with a summary.

Each source is windowed on its own (a window never spans two files, as in CIC's per-capture
CSV files); the last, shorter window of a source is emitted when the source ends. Every packet
read is either in a window or counted in ``summary.skipped`` by reason, so
``packets_read == packets_used + packets_skipped`` always holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from iotad.capture.core.decode import decode
from iotad.capture.core.errors import CaptureFormatError
from iotad.capture.core.extract import WindowExtractor
from iotad.capture.core.types import CaptureSummary, FeatureRows, PacketSource
from iotad.capture.files import CaptureFile
from iotad.capture.outputs import RowSink
from iotad.errors import DataError
from iotad.schemas.features import FeatureLayout

logger = logging.getLogger(__name__)

#: ``on_progress(packets_read_since_last_call)``.
ProgressCallback = Callable[[int], None]

_CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")


@dataclass(frozen=True)
class CaptureOptions:
    """How packets become windows (see :class:`~iotad.settings.CaptureSettings`)."""

    layout: FeatureLayout = FeatureLayout.CIC39
    window: int = 10
    flow_idle_timeout_s: float = 120.0
    max_flows: int = 100_000


def capture_files(paths: Iterable[Path], *, chunk_bytes: int) -> list[CaptureFile]:
    """The capture files named by ``paths`` (folders are searched recursively).

    Raises
    ------
    DataError
        when a path does not exist or a folder holds no capture file.
    """
    files: list[CaptureFile] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.name.endswith(_CAPTURE_SUFFIXES))
            if not found:
                raise DataError(f"no .pcap/.pcapng file (or .gz of one) under {path}")
            files += [CaptureFile(p, chunk_bytes=chunk_bytes) for p in found]
        elif path.exists():
            files.append(CaptureFile(path, chunk_bytes=chunk_bytes))
        else:
            raise DataError(f"{path} does not exist")
    return files


async def run_capture(
    sources: Sequence[PacketSource],
    options: CaptureOptions,
    sink: RowSink,
    *,
    on_progress: ProgressCallback | None = None,
) -> CaptureSummary:
    """Turn every source's packets into windows written to ``sink`` (closed at the end).

    Raises
    ------
    DataError
        when no source could be read at all.
    """
    summary = CaptureSummary()
    started = time.monotonic()
    try:
        for source in sources:
            await _one_source(source, options, sink, summary, on_progress)
    finally:
        await sink.close()
        summary.elapsed_s = time.monotonic() - started
    if summary.sources == 0 and summary.refused_sources:
        raise DataError(
            "no capture could be read: "
            + "; ".join(f"{name}: {why}" for name, why in summary.refused_sources[:3]),
            hint="iotad capture reads pcap and pcapng files (also .gz)",
        )
    return summary


async def _one_source(
    source: PacketSource,
    options: CaptureOptions,
    sink: RowSink,
    summary: CaptureSummary,
    on_progress: ProgressCallback | None,
) -> None:
    extractor = WindowExtractor(
        options.layout,
        options.window,
        flow_idle_timeout_s=options.flow_idle_timeout_s,
        max_flows=options.max_flows,
    )
    try:
        batches = iter(source.batches())
        first = next(batches, None)
    except CaptureFormatError as exc:
        logger.warning("skipping %s: %s", source.name, exc.message)
        summary.refused_sources.append((source.name, exc.message))
        return
    summary.sources += 1
    batch = first
    while batch is not None:
        decoded, skipped = decode(batch)
        read = len(batch) + sum(batch.skipped.values())
        summary.packets_read += read
        summary.packets_used += len(decoded)
        summary.skipped.update(batch.skipped)
        summary.skipped.update(skipped)
        if len(decoded):
            _times(summary, float(decoded.ts[0]), float(decoded.ts[-1]))
        await _emit(extractor.push(decoded), source.name, sink, summary)
        if on_progress is not None and read:
            on_progress(read)
        batch = next(batches, None)
    await _emit(extractor.flush(), source.name, sink, summary)


async def _emit(
    rows: FeatureRows | None, name: str, sink: RowSink, summary: CaptureSummary
) -> None:
    if rows is not None and len(rows):
        summary.windows += len(rows)
        await sink.write(rows, name)


def _times(summary: CaptureSummary, first: float, last: float) -> None:
    summary.first_ts = first if summary.first_ts is None else min(summary.first_ts, first)
    summary.last_ts = last if summary.last_ts is None else max(summary.last_ts, last)


__all__ = ["CaptureOptions", "ProgressCallback", "capture_files", "run_capture"]

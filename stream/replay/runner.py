"""The replay loop: files → rows → paced flow messages → a sink, with a summary at the end.

Call :func:`replay` (async) with any :class:`~iotad.stream.replay.sink.FlowSink`, or
:func:`replay_to_kafka` (blocking) to produce to the flows topic. Both stop early when the
``stop`` event is set, and return what was read, sent and refused.

Ids are deterministic: device ``<file stem>-dev<row mod devices_per_file>`` (two digits),
flow ``<file stem>:<row>`` (``@<pass>`` appended from the second ``--loop`` pass on), where row
is the 0-based data row of the file. Event times are the wall-clock time the flow is sent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from iotad.errors import DataError, IotadError
from iotad.settings import Settings
from iotad.stream.replay.encode import DeviceBatches, PendingFlow, encode_batch, encode_flow
from iotad.stream.replay.pacing import Pacer
from iotad.stream.replay.rows import RowParser
from iotad.stream.replay.sink import FlowSink, KafkaSink
from iotad.stream.replay.sources import FILE_ERRORS, discover, inspect, read_rows
from iotad.stream.replay.types import (
    CaptureFile,
    RejectedRow,
    Rejection,
    RejectReason,
    ReplayOptions,
    ReplaySummary,
)

logger = logging.getLogger(__name__)

#: ``on_progress(flows_produced_since_last_call)``.
ProgressCallback = Callable[[int], None]

_MAX_EXAMPLES = 5
_PROGRESS_EVERY = 1000


def plan(paths: Sequence[Path], options: ReplayOptions) -> tuple[list[CaptureFile], ReplaySummary]:
    """Inspect every file's header; unusable files are listed in the summary, not fatal.

    Raises
    ------
    DataError
        when no file is usable, or ``--speedup`` is asked of files without a natural pace.
    """
    summary = ReplaySummary()
    captures: list[CaptureFile] = []
    for path in discover(paths):
        try:
            captures.append(inspect(path))
        except IotadError as exc:
            logger.warning("skipping %s: %s", path, exc.message)
            summary.skipped_files.append((path, exc.message))
    if not captures:
        raise DataError("none of the files is a readable CICIoT2023 CSV file")
    if options.speedup is not None:
        unpaced = [c.path.name for c in captures if not c.has_natural_pace]
        if unpaced:
            raise DataError(
                f"--speedup needs a natural pace, which {', '.join(unpaced[:5])} do not have: "
                "MERGED and part files shuffle rows of many captures",
                hint="use --rate for them, or replay per-class capture files (docs/replay.md)",
            )
    summary.files = len(captures)
    return captures, summary


async def replay(
    paths: Sequence[Path],
    options: ReplayOptions,
    sink: FlowSink,
    *,
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> ReplaySummary:
    """Replay ``paths`` into ``sink`` and return the summary (after the sink is flushed)."""
    captures, summary = plan(paths, options)
    run = _Run(options, sink, summary, stop or threading.Event(), on_progress)
    started = time.monotonic()
    try:
        await run.all_passes(captures)
    finally:
        await sink.flush()
        summary.elapsed_s = time.monotonic() - started
        summary.sent = sink.delivered_flows
        summary.delivery_failures = sink.failed_flows
        summary.first_delivery_error = sink.first_error
    return summary


def replay_to_kafka(
    settings: Settings,
    paths: Sequence[Path],
    options: ReplayOptions,
    *,
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> ReplaySummary:
    """Blocking :func:`replay` into ``options.topic`` on ``settings.kafka.bootstrap_servers``.

    The files are checked before Kafka is contacted, so bad input fails fast.
    """
    plan(paths, options)

    async def produce() -> ReplaySummary:
        async with KafkaSink.from_settings(
            settings, options.topic, client="replay", max_message_bytes=options.max_message_bytes
        ) as sink:
            return await replay(paths, options, sink, stop=stop, on_progress=on_progress)

    return asyncio.run(produce())


class _Run:
    """State of one replay: counters, pacing, batching."""

    def __init__(
        self,
        options: ReplayOptions,
        sink: FlowSink,
        summary: ReplaySummary,
        stop: threading.Event,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.options = options
        self.sink = sink
        self.summary = summary
        self.stop = stop
        self.on_progress = on_progress
        self.pacer = Pacer(rate=options.rate, speedup=options.speedup, max_rate=options.max_rate)
        self._unreported = 0

    def done(self) -> bool:
        limit = self.options.limit
        if limit is not None and self.summary.produced >= limit:
            self.summary.stopped_by = f"limit of {limit} flows"
            return True
        if self.stop.is_set():
            self.summary.stopped_by = "stop requested"
            return True
        return False

    async def all_passes(self, captures: list[CaptureFile]) -> None:
        pass_no = 0
        while not self.done():
            self.summary.passes = pass_no + 1
            for capture in captures:
                await self.one_file(capture, pass_no)
                if self.done():
                    break
            if not self.options.loop:
                break
            pass_no += 1
        self._report_progress(force=True)

    async def one_file(self, capture: CaptureFile, pass_no: int) -> None:
        parser = RowParser(capture)
        batches = DeviceBatches(self.options.batch) if self.options.batched else None
        suffix = f"@{pass_no}" if pass_no else ""
        devices = self.options.devices_per_file
        row_index = -1
        try:
            for row in read_rows(capture):
                row_index += 1
                if self.done():
                    break
                self.summary.rows_read += 1
                parsed = _parse(parser, row)
                if isinstance(parsed, Rejection):
                    self._reject(capture, row_index, parsed)
                    continue
                values, label = parsed
                gap = parser.natural_duration_s(values) if self.options.speedup else 0.0
                if self.pacer.paced:
                    await self.pacer.wait(gap, self.stop)
                flow = PendingFlow(
                    device_id=f"{capture.stem}-dev{row_index % devices:02d}",
                    event_time_ms=time.time_ns() // 1_000_000,
                    flow_id=f"{capture.stem}:{row_index}{suffix}",
                    values=values,
                    label=label,
                )
                await self._emit(parser.names, flow, batches)
        except FILE_ERRORS as exc:
            logger.warning("stopped reading %s after %d rows: %s", capture.path, row_index, exc)
            self.summary.skipped_files.append(
                (capture.path, f"unreadable after data row {row_index}: {exc}")
            )
        if batches is not None:
            for flows in batches.drain():
                await self._send_batch(parser.names, flows)

    async def _emit(
        self, names: tuple[str, ...], flow: PendingFlow, batches: DeviceBatches | None
    ) -> None:
        self.summary.produced += 1
        if batches is None:
            value = encode_flow(self.options.gateway_id, names, flow)
            await self.sink.send(flow.device_id.encode(), value, 1)
            self.summary.messages += 1
        else:
            full = batches.add(flow)
            if full is not None:
                await self._send_batch(names, full)
        self._unreported += 1
        if self._unreported >= _PROGRESS_EVERY:
            self._report_progress()

    async def _send_batch(self, names: tuple[str, ...], flows: list[PendingFlow]) -> None:
        key = flows[0].device_id.encode()
        limit = self.options.max_message_bytes
        for envelope, count in encode_batch(self.options.gateway_id, names, flows, limit):
            await self.sink.send(key, envelope, count)
            self.summary.messages += 1

    def _reject(self, capture: CaptureFile, row_index: int, rejection: Rejection) -> None:
        self.summary.rejected[rejection.reason] += 1
        if len(self.summary.examples) < _MAX_EXAMPLES:
            # Line numbers count the header as line 1 (rows with embedded newlines aside).
            self.summary.examples.append(RejectedRow(capture.path, row_index + 2, rejection))

    def _report_progress(self, *, force: bool = False) -> None:
        if self.on_progress is not None and (self._unreported or force):
            self.on_progress(self._unreported)
        self._unreported = 0


def _parse(
    parser: RowParser, row: list[str] | Exception
) -> tuple[list[float], str | None] | Rejection:
    if isinstance(row, Exception):
        return Rejection(RejectReason.MALFORMED_CSV, str(row))
    if not row:
        return Rejection(RejectReason.BLANK_LINE, "empty line")
    return parser.parse(row)


__all__ = ["ProgressCallback", "plan", "replay", "replay_to_kafka"]

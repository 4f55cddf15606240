"""`iotad capture --interface NAME`: live packets → CICIoT2023 windows → Kafka or a file.

The same loop, windows and envelopes as a capture file (:func:`iotad.capture.run_capture`);
the packets come from tcpdump (:class:`iotad.capture.live.LiveCapture`). Ctrl-C, SIGTERM,
``--duration`` or ``--count`` end it cleanly: tcpdump hands over its last packets, the last
(shorter) window is written, and the summary shows tcpdump's kernel-drop count.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from iotad.console import Console
from iotad.errors import ExitCode

if TYPE_CHECKING:
    from iotad.capture import CaptureOptions, CaptureSummary, RowSink
    from iotad.capture.live import LiveCapture
    from iotad.settings import Settings


@dataclass(frozen=True)
class LiveRequest:
    """What ``iotad capture --interface`` was asked to do."""

    interface: str
    bpf: str | None = None
    duration_s: float | None = None
    count: int | None = None
    csv_out: Path | None = None
    parquet_out: Path | None = None
    linger_s: float = 1.0


@contextmanager
def stopping_on_signals(capture: LiveCapture) -> Iterator[None]:
    """SIGINT and SIGTERM stop the capture (cleanly) instead of killing the process."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        capture.stop(why=signal.Signals(signum).name)

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _file_sink(request: LiveRequest, names: tuple[str, ...], gateway: str) -> RowSink | None:
    from iotad.capture import CsvRows, ParquetRows

    if request.csv_out is not None:
        return CsvRows(request.csv_out, names, gateway)
    if request.parquet_out is not None:
        return ParquetRows(request.parquet_out, names, gateway)
    return None


def capture_live(
    settings: Settings,
    options: CaptureOptions,
    request: LiveRequest,
    console: Console,
    *,
    live: LiveCapture | None = None,
) -> tuple[CaptureSummary, int, LiveCapture]:
    """Capture from ``request.interface`` until it ends; (summary, rows written, the capture).

    ``live`` is a capture already started (tests start it first to know it listens).

    Raises
    ------
    LiveCaptureError
        when tcpdump cannot capture (missing, no such interface, no rights, bad filter).
    BrokerError
        when Kafka cannot be reached (checked before the capture starts).
    """
    from iotad.capture import run_capture
    from iotad.capture.live import LiveCapture, TcpdumpOptions
    from iotad.capture.live.kafka import LiveRows, ThreadedSink
    from iotad.schemas.features import LAYOUT_FEATURES

    conf = settings.capture
    names = LAYOUT_FEATURES[options.layout]
    if live is None:  # first: a wrong interface or filter fails at once, before Kafka
        tcpdump = TcpdumpOptions(request.interface, request.bpf, request.count)
        live = LiveCapture(tcpdump, duration_s=request.duration_s).start()
    kafka = None
    try:
        sink = _file_sink(request, names, conf.gateway_id)
        if sink is None:
            kafka = ThreadedSink(settings, settings.topics.flows, client="capture-live")
            sink = LiveRows(
                kafka, names, conf.gateway_id, conf.batch, settings.stream.max_message_bytes,
                linger_s=request.linger_s,
            )  # fmt: skip
        console.status(f"listening on {request.interface} ({request.bpf or 'no filter'}) …")
        with stopping_on_signals(live), console.progress() as progress:
            task = progress.add_task("packets")
            summary = asyncio.run(
                run_capture([live], options, sink, on_progress=lambda n: progress.advance(task, n))
            )
    finally:
        live.close()
        if kafka is not None:
            kafka.close()
    return summary, sink.written, live


def print_live(console: Console, live: LiveCapture, summary: CaptureSummary) -> None:
    """tcpdump's statistics and why the capture ended."""
    stats = live.stats
    out = console.out
    out.print(f"live capture on {live.name} ended by {live.stopped_by}", markup=False)
    if stats is None:
        console.warn("tcpdump printed no statistics (it was killed?)")
        return
    out.print(
        f"tcpdump: {stats.captured:,} captured, {stats.received_by_filter:,} received by "
        f"filter, {stats.dropped_by_kernel:,} dropped by kernel"
        + (
            f", {stats.dropped_by_interface:,} dropped by interface"
            if stats.dropped_by_interface
            else ""
        )
    )
    if stats.dropped_by_kernel:
        console.warn(
            f"the kernel dropped {stats.dropped_by_kernel:,} packets before tcpdump read them "
            "(too much traffic for this machine): narrow --filter or give it a faster core"
        )
    if stats.captured != summary.packets_read:
        console.warn(
            f"tcpdump captured {stats.captured:,} packets but iotad read {summary.packets_read:,}"
        )


def run_live_command(
    settings: Settings, options: CaptureOptions, request: LiveRequest, console: Console
) -> ExitCode:
    """The body of ``iotad capture --interface``: capture, print the summary, the exit code."""
    from iotad.cli.capture_cmd import print_summary

    target = request.csv_out or request.parquet_out or settings.topics.flows
    console.status(
        f"live capture {request.interface} → {target} ({settings.capture.layout}, windows of "
        f"{options.window} packets, gateway {settings.capture.gateway_id})"
        + (f", {request.duration_s:g}s" if request.duration_s else "")
        + (f", {request.count:,} packets" if request.count else "")
    )
    summary, written, live = capture_live(settings, options, request, console)
    print_summary(console, summary, written, str(target))
    print_live(console, live, summary)
    if isinstance(target, str) and written < summary.windows:
        return ExitCode.BROKER
    return ExitCode.OK if summary.windows else ExitCode.DATA


__all__ = ["LiveRequest", "capture_live", "print_live", "run_live_command", "stopping_on_signals"]

"""A live interface as a :class:`~iotad.capture.core.types.PacketSource`: tcpdump's pcap stream,
parsed as it arrives with the capture core's own pcap record parser.

:meth:`LiveCapture.start` runs tcpdump and waits until it is listening (or raises a
:class:`~iotad.capture.live.tcpdump.LiveCaptureError` saying why not). :meth:`batches` yields
the packets as they come, until tcpdump ends: after ``count`` packets, after :meth:`stop`
(Ctrl-C, ``duration_s``), or on its own. tcpdump flushes what it holds when stopped, so the
last window is never lost; its statistics (kernel drops) are in :attr:`stats` afterwards.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import IO

from iotad.capture.core.errors import CaptureFormatError
from iotad.capture.core.pcap_records import HEADER_BYTES, parse_pcap_header, parse_pcap_records
from iotad.capture.core.types import PacketBatch
from iotad.capture.live.tcpdump import (
    LiveCaptureError,
    TcpdumpOptions,
    TcpdumpStats,
    failure,
    parse_stats,
)

logger = logging.getLogger(__name__)

#: Largest read from the pipe: one batch holds at most this many bytes of records.
READ_BYTES = 1 << 20


class LiveCapture:
    """Packets from a network interface, via tcpdump (a context manager; see module doc)."""

    def __init__(
        self,
        options: TcpdumpOptions,
        *,
        duration_s: float | None = None,
        start_timeout_s: float = 10.0,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.options = options
        self.duration_s = duration_s
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.stats: TcpdumpStats | None = None
        self.stopped_by = ""
        self.records = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: list[str] = []
        self._listening = threading.Event()
        self._stderr_done = threading.Event()
        self._timer: threading.Timer | None = None
        self._stop_requested = threading.Event()

    @property
    def name(self) -> str:
        """The interface (window ids read ``<interface>:<n>``)."""
        return self.options.interface

    def start(self) -> LiveCapture:
        """Run tcpdump and wait until it listens.

        Raises
        ------
        LiveCaptureError
            when tcpdump is missing, or exits first (no such interface, no rights, bad filter),
            or does not listen within ``start_timeout_s``.
        """
        argv = self.options.argv()
        logger.debug("starting %s", " ".join(argv))
        # Its own session: a terminal's Ctrl-C reaches iotad only, which then stops tcpdump
        # (SIGTERM) so that tcpdump flushes its last packets and prints its statistics.
        self._process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        threading.Thread(target=self._read_stderr, name="tcpdump-stderr", daemon=True).start()
        deadline = time.monotonic() + self.start_timeout_s
        while not self._listening.wait(0.05):
            if self._process.poll() is not None:
                self._stderr_done.wait(2.0)
                self._close_pipes()
                raise failure("\n".join(self._stderr), self.options)
            if time.monotonic() > deadline:
                self._terminate()
                raise LiveCaptureError(
                    f"tcpdump did not start listening on {self.name!r} "
                    f"within {self.start_timeout_s:g}s: {' '.join(self._stderr)[:300]}"
                )
        if self.duration_s is not None:
            self._timer = threading.Timer(self.duration_s, self.stop, kwargs={"why": "duration"})
            self._timer.daemon = True
            self._timer.start()
        return self

    def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for raw in self._process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._stderr.append(line)
            if "listening on" in line:
                self._listening.set()
            logger.debug("tcpdump: %s", line)
        self._stderr_done.set()

    def stop(self, why: str = "stop requested") -> None:
        """Ask tcpdump to finish (it writes what it holds, then exits); safe from any thread."""
        if self._stop_requested.is_set():
            return
        self._stop_requested.set()
        self.stopped_by = why
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    def batches(self) -> Iterator[PacketBatch]:
        """The packets as tcpdump hands them over, until it exits.

        Raises
        ------
        CaptureFormatError
            if tcpdump's output is not a pcap stream.
        """
        if self._process is None:
            self.start()
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        try:
            head = _read_exactly(stream, HEADER_BYTES)
            if len(head) < HEADER_BYTES:
                return
            header = parse_pcap_header(head)
            pending, base = b"", None
            while chunk := os.read(stream.fileno(), READ_BYTES):
                result = parse_pcap_records(pending + chunk, header, final=False, ts_base=base)
                pending = (pending + chunk)[result.consumed :]
                for batch in result.batches:
                    if len(batch):
                        base = batch.ts_base if base is None else base
                        self.records += len(batch)
                        yield batch
                    elif batch.skipped:
                        yield batch
                if result.stop:
                    raise CaptureFormatError(f"tcpdump wrote a corrupt record on {self.name}")
            if pending:
                yield parse_pcap_records(pending, header, final=True, ts_base=base).batches[0]
        finally:
            self.close()

    def close(self) -> None:
        """Stop tcpdump if it still runs, wait for it, and collect its statistics."""
        if self._timer is not None:
            self._timer.cancel()
        if self._process is None:
            return
        if self._process.poll() is None:
            self.stop(self.stopped_by or "closed")
        self._terminate()
        self._stderr_done.wait(2.0)
        self.stats = self.stats or parse_stats(self._stderr)
        if not self.stopped_by:
            self.stopped_by = (
                f"{self.options.count} packets" if self.options.count else "tcpdump ended"
            )
        self._close_pipes()

    def _terminate(self) -> None:
        assert self._process is not None
        try:
            self._process.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("tcpdump ignored SIGTERM for %ss; killing it", self.stop_timeout_s)
            self._process.kill()
            self._process.wait()

    def _close_pipes(self) -> None:
        assert self._process is not None
        for pipe in (self._process.stdout, self._process.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> LiveCapture:
        return self.start() if self._process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    data = b""
    while len(data) < n and (chunk := os.read(stream.fileno(), n - len(data))):
        data += chunk
    return data


__all__ = ["READ_BYTES", "LiveCapture"]

"""The demo's scoring worker: ``python -m iotad stream worker`` as a child process.

The worker gets its settings as ``IOTAD_*`` variables (:func:`iotad.settings.child_environment`),
its own process session (a Ctrl-C in the terminal reaches the demo, which then stops the worker
in order) and, on Linux, a death signal: if the demo is killed, the worker gets SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import orjson

from iotad.death_signal import death_signal_prefix
from iotad.demo.scrape import WorkerSnapshot, fetch, parse_metrics
from iotad.errors import IotadError
from iotad.settings import Settings, child_environment

logger = logging.getLogger(__name__)

_POLL_S = 0.25


class WorkerError(IotadError):
    """The demo's worker did not start or stopped unexpectedly."""


class WorkerProcess:
    """One worker subprocess writing its log to ``log_path``."""

    def __init__(self, settings: Settings, bundle: Path, log_path: Path) -> None:
        self.settings = settings
        self.bundle = bundle
        self.log_path = log_path
        self.port = settings.stream.web_port
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id once started."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Spawn the worker (returns at once; see :meth:`wait_ready`)."""
        command = [sys.executable, "-m", "iotad", "stream", "worker", "--bundle", str(self.bundle)]
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [*death_signal_prefix("worker"), *command],
            env=child_environment(self.settings),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        logger.info("worker started (pid %d), log %s", self._process.pid, self.log_path)

    def running(self) -> bool:
        """True while the process lives."""
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        """The last lines the worker wrote."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout_s: float, stop: threading.Event) -> dict[str, Any]:
        """Wait until ``/readyz`` answers 200; its report.

        Raises
        ------
        WorkerError
            if the worker exits, or is not ready within ``timeout_s`` (with its log's tail).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not stop.is_set():
            if not self.running():
                code = self._process.returncode if self._process else None
                raise WorkerError(
                    f"the worker exited with code {code} while starting:\n{self.log_tail()}",
                    hint=f"see {self.log_path}",
                )
            answer = fetch(self.port, "/readyz")
            if answer is not None and answer[0] == 200:
                return dict(orjson.loads(answer[1]))
            time.sleep(_POLL_S)
        if stop.is_set():
            raise WorkerError("interrupted while the worker was starting")
        raise WorkerError(
            f"the worker was not ready within {timeout_s:.0f}s:\n{self.log_tail()}",
            hint="raise demo.ready_timeout_s on a slow or busy machine",
        )

    def snapshot(self) -> WorkerSnapshot | None:
        """The worker's counters now, or None when ``/metrics`` does not answer."""
        answer = fetch(self.port, "/metrics")
        if answer is None or answer[0] != 200:
            return None
        return parse_metrics(answer[1])

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout_s``; the exit code (None if never started)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning(
                    "worker pid %d ignored SIGTERM for %.0fs; killing it", process.pid, timeout_s
                )
                process.kill()
                process.wait(timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None
        return process.returncode


__all__ = ["WorkerError", "WorkerProcess"]

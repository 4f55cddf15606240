"""Start, stop and inspect the local single-node KRaft broker.

``start_broker`` resolves the jars, writes the configuration, formats the storage once, starts
``java … kafka.Kafka server.properties`` in its own process session, records pid and port in
``<data dir>/broker.json`` and waits until the broker answers a metadata request.
``stop_broker`` stops exactly the recorded process (identified by pid *and* start time):
SIGTERM, then SIGKILL after ``stop_timeout_s``.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path

import orjson
import psutil

from iotad.broker.admin import broker_answers
from iotad.broker.jars import require_tool, resolve_jars
from iotad.broker.security import primary_listener, probe_client
from iotad.broker.server_config import format_storage, storage_formatted, write_config
from iotad.broker.types import BrokerPaths, BrokerState, BrokerStatus
from iotad.death_signal import death_signal_prefix
from iotad.errors import BrokerError
from iotad.settings import BrokerSettings

logger = logging.getLogger(__name__)

_LOG_TAIL_LINES = 30
_POLL_S = 0.25


class LocalBroker:
    """A broker this process started; :meth:`stop` stops it and reaps the process."""

    def __init__(self, state: BrokerState, process: subprocess.Popen[bytes]) -> None:
        self.state = state
        self._process = process

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the primary client listener (PLAINTEXT unless turned off)."""
        return self.state.bootstrap_servers

    def listener(self, name: str) -> str:
        """``host:port`` of the client listener ``name`` (``PLAINTEXT``, ``SSL``, ``SASL_SSL``…).

        Raises
        ------
        BrokerError
            if the broker has no such listener.
        """
        port = self.state.listeners.get(name)
        if port is None:
            raise BrokerError(
                f"the broker has no {name} listener (it has {', '.join(self.state.listeners)})"
            )
        return f"{self.state.host}:{port}"

    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._process.poll() is None

    def wait(self) -> int:
        """Block until the broker exits; its exit code."""
        return self._process.wait()

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout_s``) and remove its state."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("broker pid %d ignored SIGTERM; killing it", self._process.pid)
                self._process.kill()
                self._process.wait(timeout=timeout_s)
        _remove_state(BrokerPaths(self.state.data_dir), self.state)


def start_broker(settings: BrokerSettings, *, die_with_parent: bool = False) -> LocalBroker:
    """Start the broker described by ``settings`` and wait until it answers.

    With ``die_with_parent`` (test sessions, the demo), Linux stops the broker when the calling
    process dies, even from SIGKILL (``setpriv --pdeathsig``; skipped where setpriv is missing).
    ``iotad kafka up`` leaves it off: that broker outlives the command.

    Raises
    ------
    BrokerError
        when a broker already runs in the data dir, ``java`` or ``mvn`` is missing, a port is
        in use, Maven fails, or the broker exits or does not answer within
        ``settings.start_timeout_s`` (with the tail of its log).
    """
    paths = BrokerPaths(settings.resolved_data_dir)
    status = broker_status(settings)
    if status.running and status.state is not None:
        raise BrokerError(
            f"a broker is already running from {paths.data_dir} "
            f"(pid {status.state.pid}, port {status.state.port})",
            hint="stop it with `iotad kafka down`, or use another broker.data_dir",
        )
    java = require_tool("java", "install Java 17 or newer (e.g. `apt-get install openjdk-17-jre`)")
    for port in (*settings.listener_ports.values(), settings.controller_port):
        ensure_port_free(settings.host, port)
    libs = resolve_jars(settings)
    write_config(settings, paths)
    if not storage_formatted(paths):
        format_storage(java, libs, paths, settings.security)
    started = time.monotonic()
    process = _spawn(java, libs, settings, paths, die_with_parent=die_with_parent)
    state = BrokerState(
        pid=process.pid,
        create_time=psutil.Process(process.pid).create_time(),
        host=settings.host,
        port=primary_listener(settings)[1],
        controller_port=settings.controller_port,
        started_at=time.time(),
        kafka_version=settings.kafka_version,
        data_dir=paths.data_dir,
        log_file=paths.log_file,
        listeners=settings.listener_ports,
    )
    paths.state_file.write_bytes(orjson.dumps(state.to_json(), option=orjson.OPT_INDENT_2))
    broker = LocalBroker(state, process)
    try:
        _wait_until_ready(broker, settings, paths, process)
    except BaseException:
        broker.stop(settings.stop_timeout_s)
        raise
    logger.info(
        "Kafka %s broker started by iotad on %s (pid %d) in %.1fs; data in %s",
        settings.kafka_version,
        state.bootstrap_servers,
        state.pid,
        time.monotonic() - started,
        paths.data_dir,
    )
    return broker


def stop_broker(settings: BrokerSettings) -> BrokerState | None:
    """Stop the broker recorded in the data dir; the state it had, or None if none was running.

    A stale state file (its process is gone) is removed.
    """
    paths = BrokerPaths(settings.resolved_data_dir)
    status = broker_status(settings)
    if status.state is None:
        return None
    if status.running:
        _terminate(status.state.pid, settings.stop_timeout_s)
        logger.info("stopped the broker on port %d (pid %d)", status.state.port, status.state.pid)
    _remove_state(paths, status.state)
    return status.state if status.running else None


def broker_status(settings: BrokerSettings) -> BrokerStatus:
    """Whether the broker recorded in the data dir runs, with its pid, port and uptime."""
    state = read_state(BrokerPaths(settings.resolved_data_dir))
    if state is None:
        return BrokerStatus(running=False, state=None, uptime_s=None)
    if not _is_recorded_process(state):
        return BrokerStatus(running=False, state=state, uptime_s=None, stale=True)
    return BrokerStatus(running=True, state=state, uptime_s=time.time() - state.started_at)


def read_state(paths: BrokerPaths) -> BrokerState | None:
    """The recorded state, or None if there is no (readable) state file."""
    try:
        return BrokerState.from_json(orjson.loads(paths.state_file.read_bytes()))
    except FileNotFoundError:
        return None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BrokerError(
            f"the broker state file {paths.state_file} is unreadable: {exc}",
            hint="make sure no broker runs from this data dir (`pgrep -f kafka.Kafka`), "
            "then delete the file",
        ) from exc


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for brokers and workers started on the fly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def ensure_port_free(host: str, port: int) -> None:
    """Raise :class:`BrokerError` if ``host:port`` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise BrokerError(
                f"port {port} on {host} is already in use ({exc.strerror})",
                hint="stop what uses it, or pick other ports with --port / "
                "IOTAD_BROKER__PORT and IOTAD_BROKER__CONTROLLER_PORT",
            ) from exc


def log_tail(paths: BrokerPaths, lines: int = _LOG_TAIL_LINES) -> str:
    """The last lines of the broker's log and console output, for error messages."""
    parts = []
    for log in (paths.log_file, paths.console_file):
        if log.is_file() and log.stat().st_size:
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log} ---\n" + "\n".join(text))
    return "\n".join(parts) if parts else "(the broker wrote no log)"


def _spawn(
    java: str, libs: Path, settings: BrokerSettings, paths: BrokerPaths, *, die_with_parent: bool
) -> subprocess.Popen[bytes]:
    command = [
        *(death_signal_prefix("broker") if die_with_parent else []),
        java, f"-Xmx{settings.heap_mb}m", f"-Xms{min(settings.heap_mb, 256)}m",
        "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{paths.log4j_properties}",
        f"-Dkafka.logs.dir={paths.logs_dir}",
        "-cp", f"{libs}/*", "kafka.Kafka", str(paths.server_properties),
    ]  # fmt: skip
    with paths.console_file.open("ab") as console:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            cwd=paths.data_dir,
            start_new_session=True,  # Ctrl-C in the terminal does not reach the broker
        )


def _wait_until_ready(
    broker: LocalBroker,
    settings: BrokerSettings,
    paths: BrokerPaths,
    process: subprocess.Popen[bytes],
) -> None:
    deadline = time.monotonic() + settings.start_timeout_s
    name, port = primary_listener(settings)
    probe = probe_client(settings) if name != "PLAINTEXT" else None
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise BrokerError(
                f"the broker exited with code {code} while starting:\n{log_tail(paths)}",
                hint=f"see {paths.log_file}",
            )
        if broker_answers(settings.host, port, timeout_s=2.0, security=probe):
            return
        time.sleep(_POLL_S)
    raise BrokerError(
        f"the broker did not answer on {broker.bootstrap_servers} within "
        f"{settings.start_timeout_s:.0f}s:\n{log_tail(paths)}",
        hint="raise broker.start_timeout_s on a slow machine (IOTAD_BROKER__START_TIMEOUT_S)",
    )


def _is_recorded_process(state: BrokerState) -> bool:
    """True if ``state.pid`` is still the process that was started (not a reused pid)."""
    try:
        process = psutil.Process(state.pid)
        alive: bool = process.status() != psutil.STATUS_ZOMBIE
        same: bool = abs(float(process.create_time()) - state.create_time) < 1.0
        return alive and same
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM ``pid`` and SIGKILL it after ``timeout_s`` (psutil also reaps our own child)."""
    try:
        process = psutil.Process(pid)
        process.terminate()
        process.wait(timeout=timeout_s)
    except psutil.TimeoutExpired:
        logger.warning("broker pid %d ignored SIGTERM for %.0fs; killing it", pid, timeout_s)
        process.kill()
        process.wait(timeout=timeout_s)
    except psutil.NoSuchProcess:
        logger.debug("broker pid %d already gone", pid)


def _remove_state(paths: BrokerPaths, state: BrokerState) -> None:
    current = read_state(paths)
    if current is not None and current.pid == state.pid:
        paths.state_file.unlink(missing_ok=True)


__all__ = [
    "LocalBroker",
    "broker_status",
    "ensure_port_free",
    "free_port",
    "log_tail",
    "read_state",
    "start_broker",
    "stop_broker",
]

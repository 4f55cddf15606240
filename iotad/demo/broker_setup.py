"""The broker a demo talks to: its own local KRaft broker (default), one from ``docker compose``
(``--docker``), or a broker that already runs (``--bootstrap``).

The local broker keeps its data under the run dir, listens on free ports, reuses the shared jar
cache (``broker.home``) and dies with the demo (``die_with_parent``).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from iotad.broker import LocalBroker, broker_answers, free_port, start_broker
from iotad.broker.process import ensure_port_free
from iotad.errors import BrokerError
from iotad.settings import BrokerSettings

logger = logging.getLogger(__name__)

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
DOCKER_PORT = 9092


class DemoBroker(Protocol):
    """A running broker the demo can stop."""

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients."""
        ...

    @property
    def description(self) -> str:
        """What it is, for the console."""
        ...

    def stop(self) -> None:
        """Stop it (a no-op for a broker the demo did not start)."""
        ...


@dataclass
class LocalDemoBroker:
    """The demo's own broker process."""

    broker: LocalBroker
    stop_timeout_s: float

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the broker."""
        return self.broker.bootstrap_servers

    @property
    def description(self) -> str:
        """Version, address and pid."""
        state = self.broker.state
        return f"local Kafka {state.kafka_version} on {state.bootstrap_servers} (pid {state.pid})"

    def stop(self) -> None:
        """SIGTERM (then SIGKILL) the broker and wait for it."""
        self.broker.stop(self.stop_timeout_s)


def local_broker_settings(base: BrokerSettings, data_dir: Path, heap_mb: int) -> BrokerSettings:
    """``base`` with free ports, ``data_dir`` and ``heap_mb`` (the jar cache stays shared)."""
    port = free_port(base.host)
    controller = free_port(base.host)
    while controller == port:
        controller = free_port(base.host)
    return base.model_copy(
        update={
            "port": port,
            "controller_port": controller,
            "data_dir": data_dir,
            "heap_mb": heap_mb,
        }
    )


def start_local(settings: BrokerSettings) -> LocalDemoBroker:
    """Start the broker described by ``settings`` (it dies with this process).

    Raises
    ------
    BrokerError
        with the reason (no java, no mvn, port busy, the broker exited …).
    """
    return LocalDemoBroker(start_broker(settings, die_with_parent=True), settings.stop_timeout_s)


@dataclass
class DockerDemoBroker:
    """A broker container started with ``docker compose`` for this run."""

    project: str
    compose_file: Path

    @property
    def bootstrap_servers(self) -> str:
        """The published client port."""
        return f"127.0.0.1:{DOCKER_PORT}"

    @property
    def description(self) -> str:
        """Project and address."""
        return f"docker compose project {self.project} on {self.bootstrap_servers}"

    def stop(self) -> None:
        """``docker compose down`` (containers and volumes of this project)."""
        _compose(self.compose_file, self.project, ["down", "--volumes", "--remove-orphans"], 120)


def _compose(file: Path, project: str, args: list[str], timeout_s: float) -> None:
    command = ["docker", "compose", "-f", str(file), "-p", project, *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"`{' '.join(command)}` did not finish in {timeout_s:.0f}s") from exc
    if result.returncode != 0:
        raise BrokerError(
            f"`{' '.join(command)}` failed ({result.returncode}): {result.stderr.strip()[-800:]}"
        )


def docker_engine_problem() -> str | None:
    """Why ``docker compose`` cannot be used here, or None when an engine answers."""
    if shutil.which("docker") is None:
        return "the docker command is not installed"
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 20s"
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return lines[-1] if lines else f"`docker info` exited with {result.returncode}"
    return None


def start_docker(project: str, timeout_s: float) -> DockerDemoBroker:
    """Start the compose file's ``kafka`` service and wait until it answers.

    Raises
    ------
    BrokerError
        when no Docker engine answers (nothing is started then), the port is busy, or the
        broker does not answer within ``timeout_s``.
    """
    problem = docker_engine_problem()
    if problem is not None:
        raise BrokerError(
            f"--docker needs a running Docker engine: {problem}",
            hint="run without --docker: the demo then starts its own local broker "
            "(Java 17 and Maven, no Docker)",
        )
    if not COMPOSE_FILE.is_file():
        raise BrokerError(f"--docker needs {COMPOSE_FILE} (run the demo from the repository)")
    ensure_port_free("127.0.0.1", DOCKER_PORT)
    broker = DockerDemoBroker(project, COMPOSE_FILE)
    _compose(COMPOSE_FILE, project, ["up", "-d", "kafka"], timeout_s)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if broker_answers("127.0.0.1", DOCKER_PORT, timeout_s=2.0):
            return broker
        time.sleep(1.0)
    broker.stop()
    raise BrokerError(f"the Docker broker did not answer on port {DOCKER_PORT} in {timeout_s:.0f}s")


@dataclass(frozen=True)
class ExternalBroker:
    """A broker that was already running (``--bootstrap``): used, never stopped."""

    bootstrap_servers: str

    @property
    def description(self) -> str:
        """Its address."""
        return f"running broker at {self.bootstrap_servers}"

    def stop(self) -> None:
        """Leave it running."""
        logger.debug("leaving the broker at %s running", self.bootstrap_servers)


__all__ = [
    "DemoBroker",
    "DockerDemoBroker",
    "ExternalBroker",
    "LocalDemoBroker",
    "docker_engine_problem",
    "local_broker_settings",
    "start_docker",
    "start_local",
]

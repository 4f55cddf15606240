"""What the local broker harness records and reports: its state file, status and topics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class BrokerState:
    """The state file of a running local broker (``<data dir>/broker.json``).

    ``create_time`` is the process start time as the OS reports it; together with ``pid`` it
    identifies exactly the process that ``iotad kafka up`` started, even if the pid is reused.
    """

    pid: int
    create_time: float
    host: str
    port: int
    controller_port: int
    started_at: float
    kafka_version: str
    data_dir: Path
    log_file: Path
    #: Every client listener's port by name (``PLAINTEXT``, ``SSL``, ``SASL_SSL``…).
    listeners: dict[str, int] = field(default_factory=dict)

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the primary client listener, for Kafka clients."""
        return f"{self.host}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings)."""
        record = asdict(self)
        record["data_dir"] = str(self.data_dir)
        record["log_file"] = str(self.log_file)
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> BrokerState:
        """The inverse of :meth:`to_json`."""
        return cls(
            pid=int(record["pid"]),
            create_time=float(record["create_time"]),
            host=str(record["host"]),
            port=int(record["port"]),
            controller_port=int(record["controller_port"]),
            started_at=float(record["started_at"]),
            kafka_version=str(record["kafka_version"]),
            data_dir=Path(record["data_dir"]),
            log_file=Path(record["log_file"]),
            listeners={str(k): int(v) for k, v in record.get("listeners", {}).items()},
        )


@dataclass(frozen=True)
class BrokerPaths:
    """Where one broker keeps its files, all under its data dir."""

    data_dir: Path

    @property
    def config_dir(self) -> Path:
        """``server.properties`` and ``log4j.properties``."""
        return self.data_dir / "config"

    @property
    def logs_dir(self) -> Path:
        """The broker's log files."""
        return self.data_dir / "logs"

    @property
    def kraft_dir(self) -> Path:
        """The KRaft metadata and topic data (``log.dirs``)."""
        return self.data_dir / "kraft"

    @property
    def server_properties(self) -> Path:
        """The broker configuration."""
        return self.config_dir / "server.properties"

    @property
    def log4j_properties(self) -> Path:
        """The broker's logging configuration."""
        return self.config_dir / "log4j.properties"

    @property
    def log_file(self) -> Path:
        """What the broker logs (log4j)."""
        return self.logs_dir / "server.log"

    @property
    def console_file(self) -> Path:
        """The JVM's own stdout and stderr (crashes before log4j starts land here)."""
        return self.logs_dir / "console.log"

    @property
    def state_file(self) -> Path:
        """The pid, port and start time of the running broker."""
        return self.data_dir / "broker.json"

    def create(self) -> None:
        """Create the folders."""
        for folder in (self.config_dir, self.logs_dir, self.kraft_dir):
            folder.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class BrokerStatus:
    """Whether the broker recorded in a data dir is running.

    ``stale`` is true when a state file exists but its process is gone (it crashed or was killed
    from outside); the next ``up`` or ``down`` removes such a file.
    """

    running: bool
    state: BrokerState | None
    uptime_s: float | None
    stale: bool = False


@dataclass(frozen=True)
class TopicInfo:
    """A topic and its partition count."""

    name: str
    partitions: int


@dataclass(frozen=True)
class TopicReport:
    """The outcome of creating the product's topics."""

    created: tuple[TopicInfo, ...]
    existing: tuple[TopicInfo, ...]

    @property
    def all(self) -> tuple[TopicInfo, ...]:
        """Every topic, created or already there, sorted by name."""
        return tuple(sorted(self.created + self.existing, key=lambda t: t.name))


__all__ = ["BrokerPaths", "BrokerState", "BrokerStatus", "TopicInfo", "TopicReport"]

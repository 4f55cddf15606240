"""The local broker's configuration files and its one-time KRaft storage format."""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from importlib import resources
from pathlib import Path

from iotad.broker.jars import output_tail
from iotad.broker.security import (
    primary_listener,
    scram_arguments,
    security_properties,
    write_keystore,
)
from iotad.broker.types import BrokerPaths
from iotad.errors import BrokerError
from iotad.settings import BrokerSecuritySettings, BrokerSettings

logger = logging.getLogger(__name__)

#: Largest record batch the broker accepts (batched flow envelopes can be large).
MESSAGE_MAX_BYTES = 8 * 1024 * 1024


def server_properties(
    settings: BrokerSettings, kraft_dir: Path, config_dir: Path | None = None
) -> dict[str, str]:
    """A single-node KRaft broker+controller on ``settings.host``, replication factor 1.

    Client listeners: PLAINTEXT on ``settings.port`` unless ``settings.security`` turns it off,
    plus its secured listeners (:mod:`iotad.broker.security`; their keystore lives in
    ``config_dir``, default: next to ``kraft_dir``).

    Topics are never auto-created: the product creates its topics explicitly with their
    partition counts (``iotad kafka up`` / :func:`iotad.broker.topics.ensure_topics`).
    """
    config_dir = config_dir if config_dir is not None else kraft_dir.parent / "config"
    host = settings.host
    clients = settings.listener_ports
    client_listeners = ",".join(f"{name}://{host}:{port}" for name, port in clients.items())
    protocols = ",".join(f"{name}:{name}" for name in clients)
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{settings.controller_port}",
        "listeners": f"{client_listeners},CONTROLLER://{host}:{settings.controller_port}",
        "advertised.listeners": client_listeners,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": primary_listener(settings)[0],
        # The controller listener is loopback-only KRaft traffic of this single node.
        "listener.security.protocol.map": f"{protocols},CONTROLLER:PLAINTEXT",
        "log.dirs": str(kraft_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "message.max.bytes": str(MESSAGE_MAX_BYTES),
        "replica.fetch.max.bytes": str(MESSAGE_MAX_BYTES),
        "log.retention.hours": "24",
        "log.segment.bytes": str(256 * 1024 * 1024),
        "num.network.threads": "2",
        "num.io.threads": "4",
        **security_properties(settings, config_dir),
    }


def render_properties(values: dict[str, str]) -> str:
    """Java ``.properties`` text, one ``key=value`` per line."""
    return "".join(f"{key}={value}\n" for key, value in values.items())


def write_config(settings: BrokerSettings, paths: BrokerPaths) -> None:
    """Write ``server.properties`` and ``log4j.properties`` into the data dir."""
    paths.create()
    write_keystore(settings.security, paths.config_dir)
    # Owner-only: with SASL PLAIN users the file holds their passwords.
    paths.server_properties.touch(mode=0o600, exist_ok=True)
    paths.server_properties.chmod(0o600)
    paths.server_properties.write_text(
        "# Written by iotad.broker; regenerated on every `iotad kafka up`.\n"
        + render_properties(server_properties(settings, paths.kraft_dir, paths.config_dir))
    )
    template = resources.files("iotad.broker") / "log4j.properties"
    paths.log4j_properties.write_text(template.read_text())


def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):  # the storage tool would read it as an option
            return cluster_id


def storage_formatted(paths: BrokerPaths) -> bool:
    """True when the KRaft log dir was formatted before (topics and offsets persist)."""
    return (paths.kraft_dir / "meta.properties").is_file()


def format_storage(
    java: str, libs_dir: Path, paths: BrokerPaths, security: BrokerSecuritySettings | None = None
) -> str:
    """Format the KRaft log dir once with a new cluster id, and return the id.

    With SASL listeners, the SCRAM users of ``security`` are created now (``--add-scram``).

    Raises
    ------
    BrokerError
        with the tail of the storage tool's output, if it fails.
    """
    cluster_id = new_cluster_id()
    command = [
        java, f"-Dlog4j.configuration=file:{paths.log4j_properties}",
        f"-Dkafka.logs.dir={paths.logs_dir}", "-cp", f"{libs_dir}/*",
        "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(paths.server_properties),
        *(scram_arguments(security) if security is not None else []),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BrokerError(
            f"formatting the KRaft storage in {paths.kraft_dir} failed "
            f"(exit code {result.returncode}):\n{output_tail(result.stdout + result.stderr)}",
            hint=f"remove {paths.data_dir} to start from an empty broker",
        )
    logger.info("formatted KRaft storage %s (cluster id %s)", paths.kraft_dir, cluster_id)
    return cluster_id


__all__ = [
    "MESSAGE_MAX_BYTES",
    "format_storage",
    "new_cluster_id",
    "render_properties",
    "server_properties",
    "storage_formatted",
    "write_config",
]

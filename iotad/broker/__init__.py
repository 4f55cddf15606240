"""A real single-node Apache Kafka broker (KRaft) that iotad starts itself, without Docker.

Jars come from Maven Central (``mvn``), the broker runs as a plain ``java`` process, and topics
are created explicitly. See docs/kafka.md.
"""

from iotad.broker.admin import admin_client, broker_answers, quiet_client_logs
from iotad.broker.jars import jars_complete, resolve_jars
from iotad.broker.process import (
    LocalBroker,
    broker_status,
    free_port,
    read_state,
    start_broker,
    stop_broker,
)
from iotad.broker.topics import ensure_topics, list_topics, product_topics
from iotad.broker.types import BrokerPaths, BrokerState, BrokerStatus, TopicInfo, TopicReport

__all__ = [
    "BrokerPaths",
    "BrokerState",
    "BrokerStatus",
    "LocalBroker",
    "TopicInfo",
    "TopicReport",
    "admin_client",
    "broker_answers",
    "broker_status",
    "ensure_topics",
    "free_port",
    "jars_complete",
    "list_topics",
    "product_topics",
    "quiet_client_logs",
    "read_state",
    "resolve_jars",
    "start_broker",
    "stop_broker",
]

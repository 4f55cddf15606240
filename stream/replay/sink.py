"""Where replayed flows go: Kafka (aiokafka producer), or any object with the same methods.

The replay produces with aiokafka rather than kafka-python: on this project's reference machine
kafka-python 3.0 sent about 6,000 single messages/s against about 46,000/s for aiokafka
(``bench/replay_throughput.py --clients``), and the brief asks for 20,000 flows/s one by one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol

from iotad.errors import BrokerError
from iotad.kafka_failures import connection_error_async
from iotad.kafka_security import aiokafka_options
from iotad.settings import KafkaSettings

if TYPE_CHECKING:
    from iotad.settings import Settings

logger = logging.getLogger(__name__)


class FlowSink(Protocol):
    """Accepts encoded flow messages; :meth:`flush` waits until all are acknowledged."""

    async def send(self, key: bytes, value: bytes, flows: int) -> None:
        """Queue one message carrying ``flows`` flows."""
        ...

    async def flush(self) -> None:
        """Wait until every queued message is acknowledged or has failed."""
        ...

    @property
    def delivered_flows(self) -> int:
        """Flows in acknowledged messages."""
        ...

    @property
    def failed_flows(self) -> int:
        """Flows in messages Kafka refused or that timed out."""
        ...

    @property
    def first_error(self) -> str | None:
        """The first delivery error, if any."""
        ...


class KafkaSink:
    """An aiokafka producer on one topic that counts acknowledged and failed flows.

    ``security`` (Kafka settings) gives the producer its TLS and SASL options
    (:func:`iotad.kafka_security.aiokafka_options`); without it the sink connects in plaintext
    to ``bootstrap_servers``. :meth:`from_settings` always passes the settings' security.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        client_id: str = "iotad-replay",
        linger_ms: int = 5,
        max_message_bytes: int = 4 * 1024 * 1024,
        request_timeout_s: float = 30.0,
        security: KafkaSettings | None = None,
    ) -> None:
        self.topic = topic
        self._kafka = (security or KafkaSettings()).model_copy(
            update={"bootstrap_servers": bootstrap_servers, "request_timeout_s": request_timeout_s}
        )
        self._config: dict[str, Any] = {
            **aiokafka_options(self._kafka, "replay"),
            "client_id": client_id,
            "acks": 1,
            "linger_ms": linger_ms,
            "max_batch_size": 512 * 1024,
            "max_request_size": max_message_bytes + 64 * 1024,
        }
        self._producer: Any = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._delivered = 0
        self._failed = 0
        self._first_error: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, topic: str, *, client: str, max_message_bytes: int
    ) -> KafkaSink:
        """A sink configured from ``settings`` (bootstrap, client id + ``-client``, linger,
        request timeout, TLS and SASL)."""
        return cls(
            settings.kafka.bootstrap_servers,
            topic,
            client_id=f"{settings.kafka.client_id}-{client}",
            linger_ms=settings.replay.linger_ms,
            max_message_bytes=max_message_bytes,
            request_timeout_s=settings.kafka.request_timeout_s,
            security=settings.kafka,
        )

    async def __aenter__(self) -> KafkaSink:
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        producer = AIOKafkaProducer(**self._config)
        try:
            await producer.start()
            partitions = await producer.partitions_for(self.topic)
        except KafkaError as exc:
            await producer.stop()
            raise await connection_error_async(self._kafka, exc) from exc
        if not partitions:
            await producer.stop()
            raise BrokerError(
                f"topic {self.topic!r} does not exist on {self._config['bootstrap_servers']}",
                hint="create the topics with `iotad kafka topics --create`",
            )
        self._producer = producer
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.flush()
        finally:
            await self._producer.stop()

    async def send(self, key: bytes, value: bytes, flows: int) -> None:
        """Queue one message (waits only when the producer's buffer is full)."""
        future = await self._producer.send(self.topic, value=value, key=key)
        self._pending.add(future)
        future.add_done_callback(lambda done: self._settle(done, flows))

    async def flush(self) -> None:
        """Wait for every queued message."""
        await self._producer.flush()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    @property
    def delivered_flows(self) -> int:
        """Flows in acknowledged messages."""
        return self._delivered

    @property
    def failed_flows(self) -> int:
        """Flows in messages that failed."""
        return self._failed

    @property
    def first_error(self) -> str | None:
        """The first delivery error, for the summary."""
        return self._first_error

    def _settle(self, future: asyncio.Future[Any], flows: int) -> None:
        self._pending.discard(future)
        if future.cancelled():
            self._failed += flows
            return
        error = future.exception()
        if error is None:
            self._delivered += flows
            return
        self._failed += flows
        if self._first_error is None:
            self._first_error = f"{type(error).__name__}: {error}"
            logger.error("delivery to %s failed: %s", self.topic, self._first_error)


__all__ = ["FlowSink", "KafkaSink"]

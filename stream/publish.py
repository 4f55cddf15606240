"""Publish many keyed records at once and hand back the broker's acknowledgements.

Records are grouped by partition (the key's murmur2 hash, exactly as Kafka's own clients place
keys) and appended to one record batch per partition, then submitted with aiokafka's batch API.
That costs a few microseconds per record instead of the tens a ``producer.send()`` call costs,
which matters when every scored flow can be an alert. The returned futures complete when the
broker has acknowledged (``acks=all``) each batch; the agent awaits them before it acks the
source messages.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.partitioner import murmur2

from iotad.errors import BrokerError

Record = tuple[bytes | None, bytes]


@dataclass(frozen=True)
class Submitted:
    """One record batch handed to the producer: what to send again if its future fails."""

    future: asyncio.Future[Any]
    topic: str
    partition: int
    records: tuple[Record, ...]


def _too_large(topic: str, value: bytes) -> BrokerError:
    return BrokerError(
        f"a {len(value)}-byte record for {topic!r} does not fit in one producer batch",
        hint="raise stream.producer_batch_bytes or lower stream.dead_letter_original_bytes",
    )


class BatchPublisher:
    """Appends records to per-partition batches of an ``AIOKafkaProducer``.

    Parameters
    ----------
    producer
        a started ``aiokafka.AIOKafkaProducer`` (the worker's own, with ``acks="all"``).
    max_cached_keys
        the partition of at most this many (topic, key) pairs is remembered
        (``stream.producer_key_cache_size``). Alert keys are the few categories, but dead
        letters keep their source message's key, which anyone producing to the flows topic
        chooses; when the cache is full it starts over, so the hot keys are back at once.
    """

    def __init__(self, producer: Any, *, max_cached_keys: int = 10_000) -> None:
        if max_cached_keys < 1:
            raise ValueError(f"max_cached_keys must be >= 1, got {max_cached_keys}")
        self._producer = producer
        self._partitions: dict[str, list[int]] = {}
        self._key_partition: dict[tuple[str, bytes], int] = {}
        self._max_cached_keys = max_cached_keys
        self._round_robin = itertools.count()

    @property
    def cached_keys(self) -> int:
        """How many (topic, key) partitions are remembered now."""
        return len(self._key_partition)

    async def _partitions_for(self, topic: str) -> list[int]:
        partitions = self._partitions.get(topic)
        if partitions is None:
            found = await self._producer.partitions_for(topic)
            if not found:
                raise BrokerError(
                    f"topic {topic!r} does not exist on the broker",
                    hint="create the product topics first (`iotad kafka up` creates them)",
                )
            partitions = self._partitions[topic] = sorted(found)
        return partitions

    def _partition(self, topic: str, key: bytes | None, partitions: Sequence[int]) -> int:
        if key is None:
            return partitions[next(self._round_robin) % len(partitions)]
        cached = self._key_partition.get((topic, key))
        if cached is None:
            cached = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
            if len(self._key_partition) >= self._max_cached_keys:
                self._key_partition.clear()
            self._key_partition[(topic, key)] = cached
        return cached

    async def publish(self, topic: str, records: Iterable[Record]) -> list[asyncio.Future[Any]]:
        """Queue ``records`` (key, value) for ``topic``; one future per submitted batch.

        Raises
        ------
        BrokerError
            if the topic does not exist, or one record alone exceeds the producer's batch size.
        """
        return [s.future for s in await self.submit(topic, records)]

    async def submit(self, topic: str, records: Iterable[Record]) -> list[Submitted]:
        """Like :meth:`publish`, keeping each batch's records so that it can be sent again."""
        partitions = await self._partitions_for(topic)
        by_partition: dict[int, list[Record]] = {}
        for record in records:
            by_partition.setdefault(self._partition(topic, record[0], partitions), []).append(
                record
            )
        submitted: list[Submitted] = []
        for partition, group in by_partition.items():
            submitted.extend(await self._submit(topic, partition, group))
        return submitted

    async def resubmit(self, failed: Submitted) -> list[Submitted]:
        """Send a batch whose delivery failed again, to the same partition."""
        return await self._submit(failed.topic, failed.partition, failed.records)

    async def _submit(
        self, topic: str, partition: int, records: Sequence[Record]
    ) -> list[Submitted]:
        submitted: list[Submitted] = []
        batch = self._producer.create_batch()
        chunk: list[Record] = []
        for key, value in records:
            if batch.append(key=key, value=value, timestamp=None) is None:
                if not chunk:
                    raise _too_large(topic, value)
                submitted.append(await self._send(batch, topic, partition, chunk))
                batch, chunk = self._producer.create_batch(), []
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise _too_large(topic, value)
            chunk.append((key, value))
        if chunk:
            submitted.append(await self._send(batch, topic, partition, chunk))
        return submitted

    async def _send(self, batch: Any, topic: str, partition: int, chunk: list[Record]) -> Submitted:
        batch.close()
        future = await self._producer.send_batch(batch, topic, partition=partition)
        return Submitted(future, topic, partition, tuple(chunk))


__all__ = ["BatchPublisher", "Record", "Submitted"]

"""The agent's batch handling and the batch publisher, against a fake producer.

The real broker is exercised by tests/integration; here the order of events is what is tested:
nothing is acknowledged before the broker acknowledged the batch's output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from support.signing import suite_public_key

from iotad.errors import BrokerError
from iotad.settings import Settings, load_settings
from iotad.stream.agents import handle_batch
from iotad.stream.loader import load_model
from iotad.stream.publish import BatchPublisher
from iotad.stream.runtime import WorkerRuntime


@dataclass
class FakeBatch:
    limit: int
    records: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    closed: bool = False

    def append(self, *, key: bytes | None, value: bytes, timestamp: None) -> object | None:
        size = sum(len(v) for _, v in self.records)
        if self.closed or (self.records and size + len(value) > self.limit):
            return None
        if len(value) > self.limit:
            return None
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeProducer:
    """Just enough of aiokafka's producer: batches, partitions, delivery futures."""

    limit: int = 10_000
    topics: dict[str, set[int]] = field(default_factory=dict)
    sent: list[tuple[str, int, FakeBatch, asyncio.Future[Any]]] = field(default_factory=list)

    async def partitions_for(self, topic: str) -> set[int] | None:
        return self.topics.get(topic)

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.limit)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, partition, batch, future))
        return future


def test_keys_land_on_the_partition_kafka_clients_choose() -> None:
    async def run() -> FakeProducer:
        producer = FakeProducer(topics={"alerts": {0, 1, 2, 3, 4}})
        await BatchPublisher(producer).publish(
            "alerts", [(b"DDoS", b"1"), (b"Recon", b"2"), (b"DDoS", b"3"), (None, b"4")]
        )
        return producer

    producer = asyncio.run(run())
    placed = {v: p for _, p, batch, _ in producer.sent for _, v in batch.records}
    partitioner = DefaultPartitioner()
    for key, value in ((b"DDoS", b"1"), (b"Recon", b"2"), (b"DDoS", b"3")):
        assert placed[value] == partitioner(key, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4])
    assert sorted(placed) == [b"1", b"2", b"3", b"4"]


def test_full_batches_are_split_and_nothing_is_lost() -> None:
    async def run() -> FakeProducer:
        producer = FakeProducer(limit=100, topics={"t": {0}})
        futures = await BatchPublisher(producer).publish("t", [(b"k", bytes(30))] * 10)
        assert len(futures) == len(producer.sent)
        return producer

    producer = asyncio.run(run())
    assert len(producer.sent) == 4
    assert sum(len(b.records) for _, _, b, _ in producer.sent) == 10


def test_unpublishable_records_raise() -> None:
    async def oversize() -> None:
        await BatchPublisher(FakeProducer(limit=10, topics={"t": {0}})).publish(
            "t", [(b"k", bytes(11))]
        )

    async def unknown_topic() -> None:
        await BatchPublisher(FakeProducer()).publish("nope", [(b"k", b"v")])

    with pytest.raises(BrokerError, match="does not fit"):
        asyncio.run(oversize())
    with pytest.raises(BrokerError, match="does not exist"):
        asyncio.run(unknown_topic())


@dataclass(frozen=True)
class FakeMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass(frozen=True)
class FakeEvent:
    value: bytes
    message: FakeMessage


@dataclass
class Recorder:
    log: list[str] = field(default_factory=list)

    async def ack(self, event: FakeEvent) -> None:
        self.log.append(f"ack {event.message.offset}")

    async def commit(self) -> bool:
        self.log.append("commit")
        return True


class FakeApp:
    def __init__(self, recorder: Recorder) -> None:
        self.consumer = recorder


def _runtime(bundles: dict[str, Path], tmp_path: Path) -> WorkerRuntime:
    settings: Settings = load_settings(
        overrides={
            "topics": {"flows": "flows", "alerts": "alerts", "dead_letters": "dlq"},
            "stream": {"state_dir": str(tmp_path), "score_in_thread": False,
                       "confidence_threshold": 0.0, "trusted_keys": [str(suite_public_key())]},
        }
    )  # fmt: skip
    return WorkerRuntime.create(settings, load_model(bundles["binary-v1"], settings.stream))


def test_events_are_acked_only_after_the_broker_acked_the_output(
    bundles: dict[str, Path],
    tmp_path: Path,
    make_flow: Callable[..., dict[str, Any]],
) -> None:
    runtime = _runtime(bundles, tmp_path)
    events = [
        FakeEvent(
            orjson.dumps(make_flow(np.full(39, 10.0 + i), i)), FakeMessage("flows", 0, i, None)
        )
        for i in range(5)
    ] + [FakeEvent(b"garbage", FakeMessage("flows", 1, 9, b"k"))]

    async def run() -> tuple[Recorder, FakeProducer]:
        recorder = Recorder()
        producer = FakeProducer(topics={"alerts": {0, 1}, "dlq": {0, 1}})
        task = asyncio.create_task(
            handle_batch(events, recorder, FakeApp(recorder), runtime, BatchPublisher(producer))
        )
        while not any(topic == "dlq" for topic, *_ in producer.sent):
            await asyncio.sleep(0)
        for _ in range(10):
            await asyncio.sleep(0)
        assert recorder.log == []  # published, not yet acknowledged by the broker
        for *_, future in producer.sent:
            future.set_result(None)
        await task
        return recorder, producer

    recorder, producer = asyncio.run(run())
    assert recorder.log == [f"ack {e.message.offset}" for e in events] + ["commit"]
    assert {t for t, *_ in producer.sent} >= {"dlq"}
    assert runtime.next_offsets == {("flows", 0): 5, ("flows", 1): 10}
    registry = runtime.metrics.registry
    assert registry.get_sample_value("iotad_dead_letters_total", {"reason": "undecodable"}) == 1
    assert registry.get_sample_value("iotad_flows_scored_total") == 5


def test_a_failed_delivery_acks_nothing_and_raises(
    bundles: dict[str, Path], tmp_path: Path, make_flow: Callable[..., dict[str, Any]]
) -> None:
    runtime = _runtime(bundles, tmp_path)
    events = [FakeEvent(orjson.dumps(make_flow(np.ones(39))), FakeMessage("flows", 0, 3, None))]

    async def run() -> Recorder:
        recorder = Recorder()
        producer = FakeProducer(topics={"alerts": {0}, "dlq": {0}})
        task = asyncio.create_task(
            handle_batch(events, recorder, FakeApp(recorder), runtime, BatchPublisher(producer))
        )
        while not producer.sent:
            await asyncio.sleep(0)
        for *_, future in producer.sent:
            future.set_exception(RuntimeError("broker said no"))
        with pytest.raises(RuntimeError, match="broker said no"):
            await task
        return recorder

    assert asyncio.run(run()).log == []

"""Every cache on the serving path stays bounded under adversarial key churn.

Keys come from whoever produces to the flows topic (device ids, message keys), so a producer
can send a new key with every message. Neither the alert throttle's window table nor the output
producer's key → partition cache may grow past its configured size.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from iotad.schemas.labels import Category
from iotad.stream.core import AlertThrottle, ThrottleState
from iotad.stream.publish import BatchPublisher

CHURN = 50_000


def test_throttle_table_is_bounded_when_no_window_has_expired() -> None:
    throttle = AlertThrottle(window_ms=3_600_000, max_per_window=1, max_keys=1000)
    state = ThrottleState()
    for i in range(CHURN):  # every key new, all inside one window: nothing expires
        assert throttle.admit(state, ("gw", f"dev-{i}", Category.DDOS), 1_000 + i // 100)
        assert len(state.windows) <= 1000
    assert len(state.windows) == 1000
    assert state.forgotten == CHURN - 1000
    # the newest keys are the ones remembered, and they are still throttled
    assert not throttle.admit(state, ("gw", f"dev-{CHURN - 1}", Category.DDOS), 2_000)


def test_throttle_forgets_expired_windows_before_live_ones() -> None:
    throttle = AlertThrottle(window_ms=1000, max_per_window=1, max_keys=100)
    state = ThrottleState()
    for i in range(50):
        throttle.admit(state, ("gw", f"old-{i}", Category.DDOS), 0)
    for i in range(50):
        throttle.admit(state, ("gw", f"live-{i}", Category.RECON), 900)
    for i in range(50):  # the old windows have expired by t=1500; the live ones have not
        throttle.admit(state, ("gw", f"new-{i}", Category.WEB), 1500)
    assert state.forgotten == 0
    devices = {device for _, device, _ in state.windows}
    assert not any(d.startswith("old-") for d in devices)
    assert sum(d.startswith("live-") for d in devices) == 50
    assert not throttle.admit(state, ("gw", "live-7", Category.RECON), 1600)


def test_a_renewed_window_moves_to_the_back_of_the_table() -> None:
    throttle = AlertThrottle(window_ms=1000, max_per_window=1, max_keys=2)
    state = ThrottleState()
    throttle.admit(state, ("gw", "a", Category.DDOS), 0)
    throttle.admit(state, ("gw", "b", Category.DDOS), 500)
    throttle.admit(state, ("gw", "a", Category.DDOS), 1200)  # a's window renews at 1200
    throttle.admit(state, ("gw", "c", Category.DDOS), 1300)  # b (start 500) is the oldest
    assert [device for _, device, _ in state.windows] == ["a", "c"]


@dataclass
class _Batch:
    records: list[tuple[bytes | None, bytes]] = field(default_factory=list)

    def append(self, *, key: bytes | None, value: bytes, timestamp: None) -> object:
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        """Nothing to flush."""


@dataclass
class _Producer:
    partitions: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    placed: dict[bytes, int] = field(default_factory=dict)

    async def partitions_for(self, topic: str) -> set[int]:
        return set(self.partitions)

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> Any:
        for key, _ in batch.records:
            assert key is not None
            self.placed[key] = partition
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def test_producer_key_cache_is_bounded_and_placement_stays_right() -> None:
    producer = _Producer()
    publisher = BatchPublisher(producer, max_cached_keys=500)
    sizes: list[int] = []

    async def churn() -> None:
        for start in range(0, CHURN, 1000):
            keys = [f"attacker-{i}".encode() for i in range(start, start + 1000)]
            await publisher.publish("dlq", [(k, b"v") for k in keys])
            await publisher.publish("alerts", [(b"DDoS", b"v")])  # a hot key among the churn
            sizes.append(publisher.cached_keys)

    asyncio.run(churn())
    assert max(sizes) <= 500
    assert len(producer.placed) == CHURN + 1
    partitioner = DefaultPartitioner()
    every = list(producer.partitions)
    for key in (b"attacker-0", b"attacker-31337", f"attacker-{CHURN - 1}".encode(), b"DDoS"):
        assert producer.placed[key] == partitioner(key, every, every)

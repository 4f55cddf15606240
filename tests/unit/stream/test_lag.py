"""Consumer lag: read from the consumer's assignment, robust to a rebalance mid-read."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka.errors import IllegalStateError

from iotad.stream.lag import refresh_lag


class _Consumer:
    """Two flows partitions; partition 1 is revoked between ``assignment()`` and ``position()``."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    def assignment(self) -> list[Any]:
        return [SimpleNamespace(topic=self.topic, partition=p) for p in (0, 1)]

    def highwater(self, tp: Any) -> int:
        return 100

    async def position(self, tp: Any) -> int:
        if tp.partition == 1:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        return 40


def test_a_partition_revoked_while_its_lag_is_read_is_skipped_not_fatal() -> None:
    runtime = SimpleNamespace(
        topics=SimpleNamespace(flows="flows"), next_offsets={}, lag={("flows", 9): 1}
    )
    app = SimpleNamespace(consumer=_Consumer("flows"))
    asyncio.run(refresh_lag(app, runtime))  # type: ignore[arg-type]
    assert runtime.lag == {("flows", 0): 60}


def test_the_last_acknowledged_batch_sets_the_next_offset() -> None:
    runtime = SimpleNamespace(
        topics=SimpleNamespace(flows="flows"), next_offsets={("flows", 1): 90}, lag={}
    )
    app = SimpleNamespace(consumer=_Consumer("flows"))
    asyncio.run(refresh_lag(app, runtime))  # type: ignore[arg-type]
    assert runtime.lag == {("flows", 0): 60, ("flows", 1): 10}

"""Lags the worker reports: consumer lag per partition, and how blocked its event loop is."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.errors import IllegalStateError

from iotad.stream.runtime import WorkerRuntime

logger = logging.getLogger(__name__)


async def refresh_lag(app: Any, runtime: WorkerRuntime) -> None:
    """Recompute ``runtime.lag`` from the log end offsets the consumer knows.

    The next offset to process is the one after the last acknowledged batch, or the consumer's
    fetch position for a partition this worker has not processed yet. A partition a rebalance
    took away meanwhile is skipped (the next refresh sees the new assignment): a lag figure
    must never stop the worker.
    """
    lag: dict[tuple[str, int], int] = {}
    for tp in app.consumer.assignment():
        if tp.topic != runtime.topics.flows:
            continue
        end = app.consumer.highwater(tp)
        if end is None:
            continue
        key = (tp.topic, tp.partition)
        next_offset = runtime.next_offsets.get(key)
        if next_offset is None:
            try:
                next_offset = await app.consumer.position(tp)
            except IllegalStateError:
                logger.debug("partition %s revoked while its lag was read", tp)
                continue
        if next_offset is not None:
            lag[key] = max(int(end) - int(next_offset), 0)
    runtime.lag.clear()
    runtime.lag.update(lag)


async def watch_event_loop(runtime: WorkerRuntime, interval_s: float = 0.1) -> None:
    """Forever: sleep ``interval_s`` and record how much later than asked the loop woke up."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval_s)
        runtime.metrics.loop_lag.observe(max(loop.time() - started - interval_s, 0.0))


__all__ = ["refresh_lag", "watch_event_loop"]

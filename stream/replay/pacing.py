"""When each flow may go out: a fixed rate, a multiple of the capture's own pace, or a cap.

The schedule is absolute (flow *k* is due ``k / rate`` seconds after the start), so short
stalls are caught up and the average rate stays exact; the pacer sleeps only once it is more
than a couple of milliseconds ahead, which keeps high rates cheap.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

_MIN_SLEEP_S = 0.002
_STOP_POLL_S = 0.2


class Pacer:
    """Paces flows by ``rate`` (flows/s) or ``speedup`` (× natural pace), capped by ``max_rate``."""

    def __init__(
        self,
        *,
        rate: float | None = None,
        speedup: float | None = None,
        max_rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._speedup = speedup
        self._min_gap = 1.0 / max_rate if max_rate else 0.0
        self._clock = clock
        self._start: float | None = None
        self._count = 0
        self._natural_s = 0.0
        self._last_due = 0.0

    @property
    def paced(self) -> bool:
        """False when flows go out as fast as they can be produced."""
        return bool(self._rate or self._speedup or self._min_gap)

    def due(self, natural_gap_s: float = 0.0) -> float:
        """Seconds from the start at which the next flow is due; ``natural_gap_s`` is how far
        it lies after the previous flow in capture time (used with ``speedup``)."""
        if self._start is None:
            self._start = self._clock()
        if self._rate:
            due = self._count / self._rate
        elif self._speedup:
            if self._count:
                self._natural_s += natural_gap_s
            due = self._natural_s / self._speedup
        else:
            due = 0.0
        if self._count and self._min_gap:
            due = max(due, self._last_due + self._min_gap)
        self._count += 1
        self._last_due = due
        return due

    async def wait(self, natural_gap_s: float = 0.0, stop: threading.Event | None = None) -> None:
        """Sleep until the next flow is due (returns early once ``stop`` is set)."""
        due = self.due(natural_gap_s)
        assert self._start is not None
        delay = self._start + due - self._clock()
        while delay > _MIN_SLEEP_S:
            if stop is not None and stop.is_set():
                return
            await asyncio.sleep(min(delay, _STOP_POLL_S))
            delay = self._start + due - self._clock()


__all__ = ["Pacer"]

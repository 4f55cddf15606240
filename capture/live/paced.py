"""A packet source held back to wall-clock time: no packet is handed over before its timestamp.

Replays a capture made for "now" (the demo's generated pcap) as if it were arriving live, so
each window's event time is when it was sent and event-to-alert latency means what it says.
Batches are cut into slices of at most ``slice_s`` of capture time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import numpy as np

from iotad.capture.core.types import PacketBatch, PacketSource


def _slice(batch: PacketBatch, start: int, stop: int, first: bool) -> PacketBatch:
    return PacketBatch(
        linktype=batch.linktype,
        ts=batch.ts[start:stop],
        wire_len=batch.wire_len[start:stop],
        cap_len=batch.cap_len[start:stop],
        offset=batch.offset[start:stop],
        data=batch.data,
        skipped=batch.skipped if first else Counter(),
        little_endian=batch.little_endian,
        ts_base=batch.ts_base,
    )


class PacedSource:
    """``inner``'s packets, each released once the wall clock reaches its timestamp."""

    def __init__(
        self, inner: PacketSource, *, slice_s: float = 0.05, stop: threading.Event | None = None
    ) -> None:
        self.inner = inner
        self.slice_s = slice_s
        self.stop = stop or threading.Event()

    @property
    def name(self) -> str:
        """The inner source's name."""
        return self.inner.name

    def batches(self) -> Iterator[PacketBatch]:
        """The inner batches in time slices, each waited for (or released at once on stop)."""
        for batch in self.inner.batches():
            if not len(batch):
                yield batch
                continue
            bounds = np.floor((batch.ts - batch.ts[0]) / self.slice_s).astype(np.int64)
            cuts = [0, *np.flatnonzero(np.diff(bounds)).tolist(), len(batch) - 1]
            start = 0
            for cut in sorted(set(cuts[1:])):
                stop = cut + 1
                self.stop.wait(max(0.0, batch.ts_base + float(batch.ts[stop - 1]) - time.time()))
                yield _slice(batch, start, stop, start == 0)
                start = stop


__all__ = ["PacedSource"]

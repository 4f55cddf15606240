"""Decoded packets of one source → feature windows, batch after batch, with bounded state.

The extractor keeps at most ``window - 1`` packets between batches (the unfinished window),
the inter-arrival clock and, for the 46-column layout, the bounded :class:`FlowTable`; memory
does not grow with the length of the capture.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from iotad.capture.core.flows import FlowTable
from iotad.capture.core.packet_columns import COLUMN, PACKET_COLUMNS, Clock, packet_matrix
from iotad.capture.core.types import F64, DecodedPackets, FeatureRows
from iotad.capture.core.windows import aggregate, mode_per_row
from iotad.errors import ConfigError
from iotad.schemas.features import LAYOUT_FEATURES, FeatureLayout


class WindowExtractor:
    """Feature windows of ``window`` consecutive packets of one source, in ``layout``."""

    def __init__(
        self,
        layout: FeatureLayout = FeatureLayout.CIC39,
        window: int = 10,
        *,
        flow_idle_timeout_s: float = 120.0,
        max_flows: int = 100_000,
    ) -> None:
        if window < 1:
            raise ConfigError(f"capture window must be ≥ 1 packet, got {window}")
        self.layout = layout
        self.window = window
        self.names = LAYOUT_FEATURES[layout]
        self._clock = Clock()
        self._flows = (
            FlowTable(flow_idle_timeout_s, max_flows) if layout is FeatureLayout.CIC46 else None
        )
        self._pending = np.zeros((0, len(PACKET_COLUMNS)))
        self._pending_pairs = np.zeros(0, dtype=np.uint64)
        self._windows = 0
        self._ts_base: float | None = None

    @property
    def tracked_flows(self) -> int:
        """Flows held in the flow table (0 for the 39-column layout)."""
        return len(self._flows.flows) if self._flows is not None else 0

    def push(self, packets: DecodedPackets) -> FeatureRows | None:
        """Add packets; the windows they complete, if any."""
        if not len(packets):
            return None
        if self._ts_base is None:
            self._ts_base = packets.ts_base
        elif packets.ts_base != self._ts_base:
            packets = replace(packets, ts=packets.ts + (packets.ts_base - self._ts_base))
        flows = self._flows.update(packets) if self._flows is not None else None
        rows = np.concatenate([self._pending, packet_matrix(packets, self._clock, flows)])
        pair = (packets.src_ip.astype(np.uint64) << np.uint64(32)) | packets.dst_ip.astype(
            np.uint64
        )
        pairs = np.concatenate([self._pending_pairs, pair])
        full = len(rows) // self.window * self.window
        self._pending, self._pending_pairs = rows[full:], pairs[full:]
        if not full:
            return None
        return self._rows(rows[:full], pairs[:full], self.window)

    def flush(self) -> FeatureRows | None:
        """The last, shorter window (end of the source), if packets are left."""
        rows, pairs = self._pending, self._pending_pairs
        self._pending, self._pending_pairs = rows[:0], pairs[:0]
        if not len(rows):
            return None
        return self._rows(rows, pairs, len(rows))

    def _rows(self, rows: F64, pairs: np.ndarray, number: int) -> FeatureRows:
        columns = aggregate(rows, number, self.layout)
        count = len(rows) // number
        ts = rows[:, COLUMN["ts"]].reshape(count, number) + (self._ts_base or 0.0)
        dominant = mode_per_row(pairs.reshape(count, number))
        first = self._windows
        self._windows += count
        return FeatureRows(
            names=self.names,
            values=np.column_stack([columns[name] for name in self.names]),
            first_ts=ts[:, 0].copy(),
            last_ts=ts[:, -1].copy(),
            window_index=np.arange(first, first + count, dtype=np.int64),
            src_ip=_addresses(dominant >> np.uint64(32)),
            dst_ip=_addresses(dominant & np.uint64(0xFFFFFFFF)),
        )


def _addresses(values: np.ndarray) -> list[str | None]:
    """Dotted quads (``None`` for 0, an ARP packet without IPv4 addresses)."""
    octets = [(values >> np.uint64(s)) & np.uint64(255) for s in (24, 16, 8, 0)]
    text = [f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*(o.tolist() for o in octets), strict=True)]
    return [None if v == 0 else t for v, t in zip(values.tolist(), text, strict=True)]


__all__ = ["WindowExtractor"]

"""Where feature windows go: the flows topic (default), a CSV file, a Parquet file or memory.

Every row carries its gateway id, source, window id (``flow_id``), capture time
(``event_time_ms``, the window's last packet) and the window's dominant ``src_ip``/``dst_ip``
pair. On Kafka the rows travel as the columnar ``iotad.flow_batch.v1`` envelopes that
``iotad replay --batch`` sends, built by the same encoder and produced by the same sink.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import numpy as np

from iotad.capture.core.types import FeatureRows
from iotad.errors import DataError
from iotad.stream.replay.encode import DeviceBatches, PendingFlow, encode_batch

if TYPE_CHECKING:
    from iotad.stream.replay.sink import FlowSink

#: Columns after the features in CSV and Parquet output.
META_COLUMNS: tuple[str, ...] = (
    "gateway_id", "source", "flow_id", "event_time_ms", "src_ip", "dst_ip",
)  # fmt: skip
_MAX_ID = 128


class RowSink(Protocol):
    """Accepts feature windows of one source after another."""

    async def write(self, rows: FeatureRows, source: str) -> None:
        """Take the windows ``rows`` of ``source``."""
        ...

    async def close(self) -> None:
        """Write out everything held back (end of the capture)."""
        ...

    @property
    def written(self) -> int:
        """Rows written (files) or acknowledged (Kafka, after :meth:`close`)."""
        ...


def flow_id(source: str, window: int) -> str:
    """The id of window ``window`` of ``source`` (at most 128 characters)."""
    suffix = f":{window}"
    return source[: _MAX_ID - len(suffix)] + suffix


def _meta(rows: FeatureRows, gateway: str, source: str) -> list[list[Any]]:
    times = (rows.last_ts * 1000).astype("int64").tolist()
    return [
        [gateway, source, flow_id(source, w), t, s or "", d or ""]
        for w, t, s, d in zip(
            rows.window_index.tolist(), times, rows.src_ip, rows.dst_ip, strict=True
        )
    ]


class CsvRows:
    """Windows as CSV: the layout's feature columns, then :data:`META_COLUMNS`."""

    def __init__(self, path: Path, names: tuple[str, ...], gateway: str) -> None:
        self.path, self.gateway = path, gateway
        try:
            self._file: TextIO = path.open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot write {path}: {exc.strerror or exc}") from exc
        self._writer = csv.writer(self._file)
        self._writer.writerow([*names, *META_COLUMNS])
        self._written = 0

    async def write(self, rows: FeatureRows, source: str) -> None:
        """Append ``rows``."""
        for values, meta in zip(
            rows.values.tolist(), _meta(rows, self.gateway, source), strict=True
        ):
            self._writer.writerow([*(_number(v) for v in values), *meta])
        self._written += len(rows)

    async def close(self) -> None:
        """Close the file."""
        self._file.close()

    @property
    def written(self) -> int:
        """Rows written."""
        return self._written


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


class ParquetRows:
    """Windows as Parquet (needs pyarrow, in the ``offline`` extra): one row group per batch."""

    def __init__(self, path: Path, names: tuple[str, ...], gateway: str) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise DataError(
                "--parquet needs pyarrow", hint="pip install 'iotad[offline]', or use --csv"
            ) from exc
        self._pa, self.names, self.gateway = pa, names, gateway
        fields = [pa.field(n, pa.float64()) for n in names] + [
            pa.field(m, pa.int64() if m == "event_time_ms" else pa.string()) for m in META_COLUMNS
        ]
        self._schema = pa.schema(fields)
        self._writer = pq.ParquetWriter(str(path), self._schema)
        self._written = 0

    async def write(self, rows: FeatureRows, source: str) -> None:
        """Append ``rows`` as a row group."""
        meta = list(zip(*_meta(rows, self.gateway, source), strict=True))
        columns: list[Any] = [rows.values[:, i] for i in range(len(self.names))]
        columns += [list(meta[0]), list(meta[1]), list(meta[2]), list(meta[3])]
        columns += [[v or None for v in meta[4]], [v or None for v in meta[5]]]
        self._writer.write_table(self._pa.table(columns, schema=self._schema))
        self._written += len(rows)

    async def close(self) -> None:
        """Finish the file (its footer)."""
        self._writer.close()

    @property
    def written(self) -> int:
        """Rows written."""
        return self._written


class MemoryRows:
    """Windows kept in memory (``iotad baseline learn --pcap`` learns from them), with the
    source each came from."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self._parts: list[FeatureRows] = []
        self.sources: list[str] = []

    async def write(self, rows: FeatureRows, source: str) -> None:
        """Keep ``rows``."""
        self._parts.append(rows)
        self.sources += [source] * len(rows)

    async def close(self) -> None:
        """Nothing is held back."""
        return None

    @property
    def written(self) -> int:
        """Windows kept."""
        return len(self.sources)

    def rows(self) -> FeatureRows:
        """Every window kept, in the order written (window indexes stay per source)."""
        if not self._parts:
            empty = np.empty(0)
            return FeatureRows(self.names, np.empty((0, len(self.names))), empty, empty,
                               np.empty(0, np.int64), [], [])  # fmt: skip
        parts = self._parts
        return replace(
            parts[0],
            values=np.concatenate([p.values for p in parts]),
            first_ts=np.concatenate([p.first_ts for p in parts]),
            last_ts=np.concatenate([p.last_ts for p in parts]),
            window_index=np.concatenate([p.window_index for p in parts]),
            src_ip=[ip for p in parts for ip in p.src_ip],
            dst_ip=[ip for p in parts for ip in p.dst_ip],
        )


class KafkaRows:
    """Windows as ``iotad.flow_batch.v1`` envelopes into a :class:`FlowSink`.

    The device id of a window is its dominant source address (the capture's name when the
    window has none); envelopes hold up to ``batch`` windows of one device, so one device's
    windows stay in order on one partition.
    """

    def __init__(
        self, sink: FlowSink, names: tuple[str, ...], gateway: str, batch: int, max_bytes: int
    ) -> None:
        self.sink, self.names, self.gateway, self.max_bytes = sink, names, gateway, max_bytes
        self._batches = DeviceBatches(batch)
        self.messages = 0

    async def write(self, rows: FeatureRows, source: str) -> None:
        """Buffer ``rows``; send every envelope that fills."""
        times = (rows.last_ts * 1000).astype("int64").tolist()
        for values, w, t, s, d in zip(
            rows.values.tolist(),
            rows.window_index.tolist(),
            times,
            rows.src_ip,
            rows.dst_ip,
            strict=True,
        ):
            flow = PendingFlow(
                device_id=(s or source)[:_MAX_ID],
                event_time_ms=t,
                flow_id=flow_id(source, w),
                values=values,
                label=None,
                src_ip=s,
                dst_ip=d,
            )
            full = self._batches.add(flow)
            if full is not None:
                await self._send(full)

    async def close(self) -> None:
        """Send the partly filled envelopes and wait for Kafka's acknowledgements."""
        for flows in self._batches.drain():
            await self._send(flows)
        await self.sink.flush()

    async def _send(self, flows: list[PendingFlow]) -> None:
        key = flows[0].device_id.encode()
        for envelope, count in encode_batch(self.gateway, self.names, flows, self.max_bytes):
            await self.sink.send(key, envelope, count)
            self.messages += 1

    @property
    def written(self) -> int:
        """Windows Kafka acknowledged."""
        return self.sink.delivered_flows


__all__ = [
    "META_COLUMNS", "CsvRows", "KafkaRows", "MemoryRows", "ParquetRows", "RowSink", "flow_id",
]  # fmt: skip

"""Flow messages as Kafka bytes: single ``iotad.flow.v1`` or columnar ``iotad.flow_batch.v1``.

Messages are built as plain dicts and encoded with orjson (no per-message pydantic round trip);
the tests check that every encoded message validates against the pydantic models in
:mod:`iotad.schemas.messages`. Envelopes hold the flows of one device from one file, so the
Kafka key (the device id) keeps each device's flows in order on one partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

FLOW_SCHEMA = "iotad.flow.v1"
BATCH_SCHEMA = "iotad.flow_batch.v1"


@dataclass(frozen=True)
class PendingFlow:
    """One valid row, ready to encode."""

    device_id: str
    event_time_ms: int
    flow_id: str
    values: list[float]
    label: str | None
    src_ip: str | None = None
    dst_ip: str | None = None


def encode_flow(gateway_id: str, names: tuple[str, ...], flow: PendingFlow) -> bytes:
    """One ``iotad.flow.v1`` message."""
    message: dict[str, object] = {
        "schema": FLOW_SCHEMA,
        "gateway_id": gateway_id,
        "device_id": flow.device_id,
        "event_time_ms": flow.event_time_ms,
        "flow_id": flow.flow_id,
        "features": dict(zip(names, flow.values, strict=True)),
    }
    if flow.label is not None:
        message["label"] = flow.label
    if flow.src_ip is not None:
        message["src_ip"] = flow.src_ip
    if flow.dst_ip is not None:
        message["dst_ip"] = flow.dst_ip
    return orjson.dumps(message)


def encode_batch(
    gateway_id: str, names: tuple[str, ...], flows: list[PendingFlow], max_bytes: int
) -> list[tuple[bytes, int]]:
    """``flows`` as one columnar envelope, split in halves while one exceeds ``max_bytes``.

    Returns ``(envelope, flows in it)`` pairs, in the order of ``flows``.
    """
    encoded = _envelope(gateway_id, names, flows)
    if len(encoded) <= max_bytes or len(flows) == 1:
        return [(encoded, len(flows))]
    half = len(flows) // 2
    return encode_batch(gateway_id, names, flows[:half], max_bytes) + encode_batch(
        gateway_id, names, flows[half:], max_bytes
    )


def _envelope(gateway_id: str, names: tuple[str, ...], flows: list[PendingFlow]) -> bytes:
    columns = list(zip(*(f.values for f in flows), strict=True))
    message: dict[str, object] = {
        "schema": BATCH_SCHEMA,
        "gateway_id": gateway_id,
        "count": len(flows),
        "device_id": [f.device_id for f in flows],
        "event_time_ms": [f.event_time_ms for f in flows],
        "flow_id": [f.flow_id for f in flows],
        "features": dict(zip(names, (list(c) for c in columns), strict=True)),
    }
    labels = [f.label for f in flows]
    if any(label is not None for label in labels):
        message["label"] = labels
    for name in ("src_ip", "dst_ip"):
        hosts = [getattr(f, name) for f in flows]
        if any(host is not None for host in hosts):
            message[name] = hosts
    return orjson.dumps(message)


@dataclass
class DeviceBatches:
    """Per-device buffers of one file's flows; a buffer is released when it holds ``size``."""

    size: int
    _buffers: dict[str, list[PendingFlow]] = field(default_factory=dict)

    def add(self, flow: PendingFlow) -> list[PendingFlow] | None:
        """Buffer ``flow``; the device's full batch when this flow completed it."""
        buffer = self._buffers.setdefault(flow.device_id, [])
        buffer.append(flow)
        if len(buffer) < self.size:
            return None
        del self._buffers[flow.device_id]
        return buffer

    def drain(self) -> Iterator[list[PendingFlow]]:
        """Every partly filled buffer (end of a file, or of the replay)."""
        while self._buffers:
            _, buffer = self._buffers.popitem()
            yield buffer

    def __len__(self) -> int:
        return sum(len(b) for b in self._buffers.values())


__all__ = [
    "BATCH_SCHEMA",
    "FLOW_SCHEMA",
    "DeviceBatches",
    "PendingFlow",
    "encode_batch",
    "encode_flow",
]

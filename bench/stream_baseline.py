"""The hand-written baseline of the stream benchmark: what a user might write without Faust.

A plain aiokafka loop: ``getmany`` up to ``batch_size`` records → ``orjson`` → numpy (bundle
order) → the bundle's transform + onnxruntime (the same :class:`BundleSession` the worker uses)
→ top class and threshold → one alert per attack flow with ``producer.send`` → wait for the
broker → commit. No schema validation, no dead letters, no metrics.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from iotad.schemas.bundle import load_bundle, open_session


@dataclass(frozen=True)
class BaselineResult:
    """What the baseline did and how long it took (from its first record to its last)."""

    flows: int
    alerts: int
    seconds: float

    @property
    def rate(self) -> float:
        """Flows per second."""
        return self.flows / self.seconds if self.seconds > 0 else 0.0


def _rows(
    records: list[Any], names: list[str]
) -> tuple[np.ndarray, list[tuple[Any, dict[str, Any], int | None]]]:
    parts: list[np.ndarray] = []
    singles: list[list[float]] = []
    origin: list[tuple[Any, dict[str, Any], int | None]] = []
    for record in records:
        doc = orjson.loads(record.value)
        if doc.get("schema") == "iotad.flow_batch.v1":
            if singles:
                parts.append(np.asarray(singles, dtype=np.float32))
                singles = []
            columns = doc["features"]
            parts.append(np.asarray([columns[n] for n in names], dtype=np.float32).T)
            origin.extend((record, doc, i) for i in range(doc["count"]))
        else:
            singles.append([doc["features"][n] for n in names])
            origin.append((record, doc, None))
    if singles:
        parts.append(np.asarray(singles, dtype=np.float32))
    return np.ascontiguousarray(np.concatenate(parts)), origin


def _alert(
    record: Any,
    doc: dict[str, Any],
    i: int | None,
    label: str,
    category: str,
    confidence: float,
    top: list[dict[str, Any]],
    model: dict[str, str],
) -> bytes:
    def field(name: str) -> Any:
        return doc.get(name) if i is None else (doc.get(name) or [None] * (i + 1))[i]

    return orjson.dumps(
        {
            "schema": "iotad.alert.v1",
            "alert_id": uuid.uuid4().hex,
            "detected_at_ms": int(time.time() * 1000),
            "event_time_ms": field("event_time_ms"),
            "gateway_id": doc.get("gateway_id"),
            "device_id": field("device_id"),
            "flow_id": field("flow_id"),
            "category": category,
            "label": label,
            "confidence": confidence,
            "top_k": top,
            "severity": "high",
            "model": model,
            "source": {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "index": i,
            },
            "ground_truth_label": field("label"),
        }
    )


async def run_baseline(
    bootstrap: str,
    topic: str,
    alerts_topic: str,
    bundle_dir: Path,
    *,
    batch_size: int,
    expected_flows: int,
    threshold: float = 0.5,
    timeout_s: float = 300.0,
) -> BaselineResult:
    """Consume ``expected_flows`` flows from ``topic`` (fresh group) and publish alerts."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    session = open_session(load_bundle(bundle_dir))
    manifest = session.bundle.manifest
    names = list(manifest.input.raw_features)
    classes = np.asarray(manifest.classes)
    benign = set(manifest.decision.benign_classes)
    categories = manifest.class_categories
    model = {
        "name": manifest.name,
        "version": manifest.version,
        "sha256": session.bundle.model_sha256,
    }
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"baseline-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=512 * 1024
    )
    await consumer.start()
    await producer.start()
    flows = alerts = 0
    first: float | None = None
    deadline = time.monotonic() + timeout_s
    try:
        while flows < expected_flows and time.monotonic() < deadline:
            fetched = await consumer.getmany(timeout_ms=50, max_records=batch_size)
            records = [r for part in fetched.values() for r in part]
            if not records:
                continue
            if first is None:
                first = time.perf_counter()
            x, origin = _rows(records, names)
            scores = session.scores(x)
            top = scores.argmax(axis=1)
            confidence = scores[np.arange(len(top)), top]
            order = np.argsort(-scores, axis=1)[:, :3]
            futures = []
            for row in np.flatnonzero(confidence >= threshold).tolist():
                label = str(classes[top[row]])
                if label in benign:
                    continue
                record, doc, i = origin[row]
                best = [
                    {"label": str(classes[c]), "probability": float(scores[row, c])}
                    for c in order[row]
                ]
                value = _alert(
                    record, doc, i, label, categories[label], float(confidence[row]), best, model
                )
                futures.append(
                    await producer.send(alerts_topic, value, key=categories[label].encode())
                )
            if futures:
                await asyncio.gather(*futures)
            await consumer.commit()
            flows += len(x)
            alerts += len(futures)
        elapsed = time.perf_counter() - first if first is not None else 0.0
    finally:
        await consumer.stop()
        await producer.stop()
    return BaselineResult(flows, alerts, elapsed)


__all__ = ["BaselineResult", "run_baseline"]

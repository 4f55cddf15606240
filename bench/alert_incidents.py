"""Alerts of a stream of decided flows → incidents, through the pure incident core.

For ``bench/captured_gateway.py``: every alerted flow becomes an ``iotad.alert.v1`` message
(validated) at its event time, folded as the incident agent folds it
(``iotad.stream.core.incident.fold``), with the agent's timer (``tick``) run every
``tick_ms`` of event time in between, as the worker's timer runs on a stream replayed at that
pace. Counts per minute are over the stream's span (its first to its last flow, alerted or not).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.schemas.incidents import IncidentEvent
from iotad.schemas.labels import Category
from iotad.schemas.messages import Alert
from iotad.stream.core.decide import DecisionPolicy, Decisions
from iotad.stream.core.incident import (
    AlertPosition,
    IncidentBook,
    IncidentChanges,
    IncidentPolicy,
    fold,
    tick,
)


def _alert(
    i: int, at_ms: int, category: str, src: str | None, dst: str | None, gateway: str
) -> Alert:
    return Alert.model_validate(
        {
            "alert_id": hashlib.md5(f"{gateway}:{i}".encode()).hexdigest(),
            "detected_at_ms": at_ms,
            "event_time_ms": at_ms,
            "gateway_id": gateway,
            "device_id": src or "ward",
            "src_ip": src,
            "dst_ip": dst,
            "category": category,
            "confidence": 0.9,
            "top_k": [{"label": category, "probability": 0.9}],
            "severity": "medium",
            "model": {"name": "bench", "version": "1", "sha256": "a" * 64},
            "source": {"topic": "iotad.flows", "partition": 0, "offset": i},
        }
    )


def fold_alerts(
    decisions: Decisions,
    policy: DecisionPolicy,
    times_ms: NDArray[np.int64],
    src: Sequence[str | None],
    dst: Sequence[str | None],
    gateway: str,
    incidents: IncidentPolicy,
    tick_ms: int = 1000,
) -> dict[str, Any]:
    """Alerts and incidents (opened, all events) in total and per minute of the stream."""
    book, changes = IncidentBook(), IncidentChanges()
    alerted = np.flatnonzero(decisions.alert)
    next_tick = int(times_ms[0]) + tick_ms
    categories: Counter[str] = Counter()
    for offset, i in enumerate(alerted.tolist()):
        at = int(times_ms[i])
        while next_tick <= at:
            tick(book, next_tick, incidents, changes)
            next_tick += tick_ms
        unknown = decisions.unknown is not None and decisions.unknown[i]
        category = Category.UNKNOWN if unknown else policy.categories[decisions.top[i]]
        categories[category.value] += 1
        alert = _alert(offset, at, category.value, src[i], dst[i], gateway)
        fold(book, alert, AlertPosition(0, offset), incidents, changes)
    end = int(times_ms[-1])
    while next_tick <= end:
        tick(book, next_tick, incidents, changes)
        next_tick += tick_ms
    minutes = max(end - int(times_ms[0]), 1) / 60_000
    events = Counter(e.event.value for e in changes.events)
    opened = events[IncidentEvent.OPENED.value]
    return {
        "flows": len(times_ms),
        "minutes": minutes,
        "alerts": len(alerted),
        "alerts_per_min": len(alerted) / minutes,
        "alert_categories": dict(categories),
        "incidents_opened": opened,
        "incidents_opened_per_min": opened / minutes,
        "incident_events": dict(events),
        "incident_messages_per_min": len(changes.events) / minutes,
        "alerts_below_min_alerts": changes.below_threshold,
        "still_pending_or_open": len(book.open),
    }


__all__ = ["fold_alerts"]

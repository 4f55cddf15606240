"""The incident agent's CPU cost per alert: decode + validate an iotad.alert.v1 message, fold it.

Run: ``python bench/incident_fold.py [--alerts N] [--keys K] [--repeat R]``. It builds N valid
alert messages spread over K incident keys (one DDoS target each, many sources), then times
``Alert.model_validate_json`` and the pure core's ``fold`` separately, as the agent runs them on
the worker's event loop, and prints µs per alert and the alerts per second one core sustains
(median of R runs). No broker: the table and topic writes are one per changed incident per batch,
not per alert.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

from machine import describe

from iotad.schemas.messages import Alert
from iotad.stream.core.incident import (
    AlertPosition,
    IncidentBook,
    IncidentChanges,
    IncidentPolicy,
    fold,
)

T0 = 1_795_718_400_000


def alert_messages(n: int, keys: int) -> list[bytes]:
    """``n`` alert messages, one every millisecond, over ``keys`` target hosts."""
    return [
        Alert.model_validate(
            {
                "alert_id": hashlib.md5(str(i).encode()).hexdigest(),
                "detected_at_ms": T0 + i,
                "event_time_ms": T0 + i - 40,
                "gateway_id": "gw-bench",
                "device_id": f"dev-{i % 50}",
                "src_ip": f"10.9.{i % 200}.7",
                "dst_ip": f"10.20.0.{i % keys}",
                "category": "DDoS",
                "label": "DDoS-SYN_Flood",
                "confidence": 0.97,
                "top_k": [{"label": "DDoS-SYN_Flood", "probability": 0.97}],
                "severity": "high",
                "model": {"name": "bench", "version": "1", "sha256": "a" * 64},
                "source": {"topic": "iotad.flows", "partition": 0, "offset": i},
            }
        )
        .model_dump_json()
        .encode()
        for i in range(n)
    ]


def one_run(messages: list[bytes]) -> tuple[float, float, int]:
    """Seconds validating, seconds folding, incident events emitted."""
    began = time.perf_counter()
    alerts = [Alert.model_validate_json(m) for m in messages]
    validated = time.perf_counter()
    book, changes, policy = IncidentBook(), IncidentChanges(), IncidentPolicy()
    for offset, alert in enumerate(alerts):
        fold(book, alert, AlertPosition(0, offset), policy, changes)
    return validated - began, time.perf_counter() - validated, len(changes.events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    messages = alert_messages(args.alerts, args.keys)
    runs = [one_run(messages) for _ in range(args.repeat)]
    validate = statistics.median(r[0] for r in runs) / args.alerts * 1e6
    folding = statistics.median(r[1] for r in runs) / args.alerts * 1e6
    print(describe())
    print(
        f"{args.alerts:,} alerts over {args.keys} incidents, median of {args.repeat}: "
        f"validate {validate:.1f} µs + fold {folding:.1f} µs per alert = "
        f"{1e6 / (validate + folding):,.0f} alerts/s on one core; "
        f"{runs[0][2]} incident events"
    )


if __name__ == "__main__":
    main()

"""Alerts for incident tests: valid ``iotad.alert.v1`` messages with chosen hosts and times."""

from __future__ import annotations

import hashlib

from iotad.schemas.messages import Alert, Severity

#: A fixed detection time (2026-11-26T00:00:00Z) the tests count from.
T0 = 1_795_718_400_000


def make_alert(
    n: int,
    at_ms: int,
    *,
    category: str = "DDoS",
    label: str | None = "DDoS-SYN_Flood",
    src: str | None = "10.0.0.9",
    dst: str | None = "10.0.0.1",
    device: str = "pump-1",
    gateway: str = "gw-1",
    severity: Severity = Severity.HIGH,
) -> Alert:
    return Alert.model_validate(
        {
            "alert_id": hashlib.md5(f"alert-{n}".encode()).hexdigest(),
            "detected_at_ms": at_ms,
            "event_time_ms": at_ms - 5,
            "gateway_id": gateway,
            "device_id": device,
            "src_ip": src,
            "dst_ip": dst,
            "category": category,
            "label": label,
            "confidence": 0.9,
            "top_k": [{"label": label or category, "probability": 0.9}],
            "severity": severity,
            "model": {"name": "m", "version": "1", "sha256": "0" * 64},
            "source": {"topic": "iotad.flows", "partition": 0, "offset": n},
        }
    )


__all__ = ["T0", "make_alert"]

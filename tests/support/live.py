"""Helpers for live-capture tests: skip where tcpdump cannot capture, a ward on fresh addresses."""

from __future__ import annotations

import uuid

import pytest

from iotad.capture.live import LiveCapture, LiveCaptureError, TcpdumpOptions
from iotad.capture.traffic import LoopbackHosts


def fresh_hosts(devices: int = 3) -> LoopbackHosts:
    """A simulated ward on a /16 of loopback no other concurrent test is likely to use."""
    return LoopbackHosts(octet=100 + uuid.uuid4().int % 150, devices=devices)


def require_live_capture(interface: str = "lo") -> None:
    """Skip the test, saying why, when tcpdump cannot capture on ``interface`` here."""
    probe = LiveCapture(TcpdumpOptions(interface, "udp port 9 and host 127.254.254.254"))
    try:
        probe.start()
    except LiveCaptureError as exc:
        pytest.skip(f"live capture is not possible here: {exc.message} ({exc.hint})")
    probe.close()

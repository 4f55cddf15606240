"""The demo's packet stage against the real broker: a user's pcap as fast as it is read, the
built-in pcap at its own pace; both as ``iotad capture``'s envelopes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.kafka import IsolatedSettings, consume_all

from iotad.capture.traffic.synthetic import ATTACKER, ward_frames, write_pcap
from iotad.demo.packet_stage import PACKET_GATEWAY_ID, builtin_pcap, run_packet_stage
from iotad.schemas.messages import FlowBatch

pytestmark = pytest.mark.kafka


def _windows(settings_bootstrap: str, topic: str) -> list[FlowBatch]:
    records = consume_all(settings_bootstrap, topic, idle_s=3.0)
    return [FlowBatch.model_validate_json(value) for _, value in records]


def test_a_user_pcap_goes_as_fast_as_it_is_read(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    settings = isolated_settings(capture={"gateway_id": PACKET_GATEWAY_ID})
    # Captured an hour ago: sent at once, event times are the capture's.
    old = time.time() - 3600
    path = write_pcap(tmp_path / "old.pcap", ward_frames(old))
    began = time.monotonic()
    stage = run_packet_stage(settings, [path], builtin=False)
    assert time.monotonic() - began < 3.0  # not paced over its 3.5 s
    assert stage.windows == stage.delivered == stage.packets_read // 10 + 1
    batches = _windows(settings.kafka.bootstrap_servers, settings.topics.flows)
    assert sum(b.count for b in batches) == stage.windows
    assert all(b.gateway_id == PACKET_GATEWAY_ID for b in batches)
    times = [t for b in batches for t in b.event_time_ms]
    assert old * 1000 <= min(times) and max(times) <= (old + 4) * 1000
    assert any(ATTACKER in (b.src_ip or []) for b in batches)


def test_the_builtin_pcap_is_released_at_its_own_pace(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    settings = isolated_settings(capture={"gateway_id": PACKET_GATEWAY_ID})
    path = builtin_pcap(tmp_path, seed=1, lead_s=0.2)
    stage = run_packet_stage(settings, [path], builtin=True)
    assert stage.builtin and stage.windows == stage.delivered > 250
    assert stage.seconds >= 3.0  # its packets span 3.5 s from 0.2 s after writing
    batches = _windows(settings.kafka.bootstrap_servers, settings.topics.flows)
    assert sum(b.count for b in batches) == stage.windows

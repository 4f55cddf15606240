"""Incidents against the real broker: one burst → few messages, and state survives kill -9.

A real worker folds the alerts it publishes into incidents (Faust table ``incidents`` with its
changelog topic). After a SIGKILL a new worker process restores the table from the changelog, so
more of the same attack updates the same incident (same id, counts and sequence continue)
instead of opening a new one.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import pytest
from support.bundles import make_tiny_bundle, synthetic_rows
from support.kafka import IsolatedSettings, consume_all, produce
from support.worker import WorkerProcess, batch_message, encode, free_port

from iotad.errors import BrokerError
from iotad.schemas.features import FeatureLayout
from iotad.schemas.incidents import CloseReason, Incident, IncidentEvent
from iotad.schemas.labels import Task
from iotad.settings import Settings
from iotad.stream.core.incident_state import decode_state
from iotad.stream.incident_agent import TABLE_NAME
from iotad.stream.loader import load_model
from iotad.stream.worker import preflight

pytestmark = pytest.mark.kafka

CLASSES = ("DDoS", "DoS")  # both keyed by target: one incident per category
BATCH = 50
PARTITIONS = 2
TARGET = "10.20.3.1"


def ddos_rows(n: int) -> np.ndarray:
    x, y = synthetic_rows(4 * n, FeatureLayout.CIC39, CLASSES, seed=5)
    return x[y == "DDoS"][:n]


def send_burst(settings: Settings, start: int, n: int, per_message: int = 100) -> None:
    """``n`` DDoS flows from many sources to one target, as batch envelopes."""
    rows = ddos_rows(n)
    messages = []
    for lo in range(0, n, per_message):
        chunk = rows[lo : lo + per_message]
        ids = [f"f{start + lo + i}" for i in range(len(chunk))]
        doc = batch_message(chunk, [None] * len(chunk), ids, int(time.time() * 1000))
        doc["src_ip"] = [f"10.9.{(start + lo + i) % 50}.7" for i in range(len(chunk))]
        doc["dst_ip"] = [TARGET] * len(chunk)
        messages.append((b"gw-test", encode(doc)))
    produce(settings.kafka.bootstrap_servers, settings.topics.flows, messages)


def incidents(settings: Settings) -> list[Incident]:
    raw = consume_all(settings.kafka.bootstrap_servers, settings.topics.incidents, idle_s=1.0)
    return [Incident.model_validate_json(v) for _, v in raw]


def wait_for(
    settings: Settings, worker: WorkerProcess, what: str, done: Callable[[list[Incident]], bool]
) -> list[Incident]:
    deadline = time.monotonic() + 120
    seen: list[Incident] = []
    while time.monotonic() < deadline:
        seen = incidents(settings)
        if done(seen):
            return seen
        if worker.process.poll() is not None:
            pytest.fail(f"worker exited while waiting for {what}:\n{worker.log_tail()}")
    pytest.fail(f"no {what} after 120 s; saw {[(e.event, e.alerts) for e in seen]}")


def changelog_alerts(settings: Settings) -> dict[bytes, int]:
    """Alert counts of the latest stored state per key, read from the table's changelog."""
    topic = f"{settings.stream.app_id}-{TABLE_NAME}-changelog"
    latest: dict[bytes, int] = {}
    for key, value in consume_all(settings.kafka.bootstrap_servers, topic, idle_s=1.0):
        assert key is not None
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = decode_state(value).alerts
    return latest


def counted(events: list[Incident]) -> int:
    """Alerts counted by the incidents on TARGET (the latest event of each)."""
    latest: dict[str, int] = {}
    for e in events:
        if e.host == TARGET:
            latest[e.incident_id] = max(latest.get(e.incident_id, 0), e.alerts)
    return sum(latest.values())


def _settings(isolated_settings: IsolatedSettings, **incidents: float) -> Settings:
    return isolated_settings(
        partitions=PARTITIONS,
        stream={"web_port": free_port(), "confidence_threshold": 0.0, "batch_size": BATCH,
                "batch_within_s": 0.02, "session_timeout_s": 6.0},
        incidents={"enabled": True, "quiet_s": 300.0, "update_every_s": 0.5, "tick_s": 0.2,
                   **incidents},
    )  # fmt: skip


def _on_new_port(settings: Settings) -> Settings:
    stream = settings.stream.model_copy(update={"web_port": free_port()})
    return settings.model_copy(update={"stream": stream})


def test_incident_survives_sigkill_and_is_updated_not_reopened(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    make_tiny_bundle(bundle, classes=CLASSES, task=Task.CATEGORY)
    settings = _settings(isolated_settings)
    first = WorkerProcess(settings, tmp_path / "first.log", bundle=bundle)
    first.wait_ready()
    send_burst(settings, 0, 300)
    before = wait_for(settings, first, "updates counting the first burst",
                      lambda ev: counted(ev) >= 300)  # fmt: skip
    opened = {(e.category, e.host): e for e in before if e.event is IncidentEvent.OPENED}
    last_count = {e.incident_id: e.alerts for e in before}
    deadline = time.monotonic() + 60  # what was counted is stored on the changelog
    while sum(changelog_alerts(settings).values()) < 300:
        assert time.monotonic() < deadline, "the changelog never held the first burst"
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = WorkerProcess(_on_new_port(settings), tmp_path / "second.log", bundle=bundle)
    try:
        second.wait_ready()
        second.wait_metric("iotad_incidents_open", len(opened))  # restored from the changelog
        send_burst(settings, 300, 300)
        after = wait_for(settings, second, "updates counting both bursts",
                         lambda ev: counted(ev) >= 600)  # fmt: skip
    finally:
        assert second.stop(signal.SIGTERM) == 0

    reopened = [e for e in after[len(before) :] if e.event is IncidentEvent.OPENED]
    assert not [e for e in reopened if (e.category, e.host) in opened], "opened again"
    for key, first_event in opened.items():
        mine = [e for e in after if e.incident_id == first_event.incident_id]
        assert all(e.category == key[0] for e in mine)
        assert mine[-1].alerts > last_count[first_event.incident_id]  # counts continued
        assert [e.sequence for e in mine] == list(range(len(mine)))  # continued, no gap
    assert 600 <= counted(after) <= 600 + 2 * BATCH * PARTITIONS  # re-scored flows may repeat
    biggest = max(after, key=lambda e: e.alerts)
    assert [h.host for h in biggest.top_targets] == [TARGET]
    assert len(biggest.top_sources) == 5


def test_one_burst_gives_a_hundredfold_fewer_incident_messages_and_closes_when_quiet(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    make_tiny_bundle(bundle, classes=CLASSES, task=Task.CATEGORY)
    settings = _settings(isolated_settings, quiet_s=3.0, update_every_s=30.0)
    worker = WorkerProcess(settings, tmp_path / "worker.log", bundle=bundle)
    try:
        worker.wait_ready()
        send_burst(settings, 0, 3_000, per_message=500)
        events = wait_for(settings, worker, "closed incidents for every alert",
                          lambda ev: sum(e.alerts for e in ev
                                         if e.event is IncidentEvent.CLOSED) >= 3_000)  # fmt: skip
        alerts = sum(worker.metric("iotad_alerts_total", category=c) for c in CLASSES)
        per_minute = worker.metric("iotad_alerts_per_minute")
        incidents_per_minute = worker.metric("iotad_incidents_per_minute")
        open_now = worker.metric("iotad_incidents_open")
    finally:
        assert worker.stop(signal.SIGTERM) == 0
    assert alerts >= 3_000
    assert len(events) * 100 <= alerts, f"{len(events)} incident messages for {alerts} alerts"
    closed = [e for e in events if e.event is IncidentEvent.CLOSED]
    assert {e.close_reason for e in closed} == {CloseReason.QUIET}
    assert {e.incident_id for e in closed} == {
        e.incident_id for e in events if e.event is IncidentEvent.OPENED
    }
    assert per_minute >= 3_000 and incidents_per_minute == len(events)
    assert open_now == 0
    assert orjson.loads(closed[0].model_dump_json())["schema"] == "iotad.incident.v1"


def test_the_worker_refuses_an_alerts_topic_the_table_cannot_follow(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    make_tiny_bundle(bundle, classes=CLASSES, task=Task.CATEGORY)
    settings = isolated_settings(
        partitions=2, stream={"state_dir": str(tmp_path / "state")}, incidents={"enabled": True}
    )
    loaded = load_model(bundle, settings.stream)
    preflight(settings, loaded)  # matching counts: fine
    three = settings.model_copy(
        update={"topics": settings.topics.model_copy(update={"partitions": 3})}
    )
    with pytest.raises(BrokerError, match="has 2 partitions, topics.partitions is 3"):
        preflight(three, loaded)
    off = three.model_copy(
        update={"incidents": three.incidents.model_copy(update={"enabled": False})}
    )
    preflight(off, loaded)

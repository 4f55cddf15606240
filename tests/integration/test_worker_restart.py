"""Worker restarts mid-stream (SIGKILL, then SIGTERM): no valid flow is lost.

Flows keep arriving while the worker is killed and restarted. Afterwards every flow must have
its alert (the test bundle has no benign class, so every flow raises one); repeats are allowed
but bounded by the batches in flight, and a repeated alert keeps its alert_id.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from support.bundles import make_tiny_bundle, synthetic_rows
from support.kafka import IsolatedSettings, consume_all, produce
from support.worker import WorkerProcess, flow_message, free_port

from iotad.schemas.features import FeatureLayout
from iotad.schemas.labels import Task
from iotad.schemas.messages import Alert
from iotad.settings import Settings

pytestmark = pytest.mark.kafka

CLASSES = ("DDoS", "Recon")
BATCH = 50
PARTITIONS = 2


class Feeder(threading.Thread):
    """Sends single flows (about 400/s) until stopped."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.sent: list[str] = []
        self.halt = threading.Event()
        self.rows, _ = synthetic_rows(200, FeatureLayout.CIC39, CLASSES, seed=3)

    def run(self) -> None:
        i = 0
        while not self.halt.is_set():
            chunk = []
            for _ in range(20):
                doc = flow_message(
                    self.rows[i % 200], None, f"f{i}", f"d{i % 6}", int(time.time() * 1000)
                )
                chunk.append((f"d{i % 6}".encode(), orjson.dumps(doc)))
                self.sent.append(f"f{i}")
                i += 1
            produce(self.settings.kafka.bootstrap_servers, self.settings.topics.flows, chunk)
            time.sleep(0.05)


def _on_new_port(settings: Settings) -> Settings:
    stream = settings.stream.model_copy(update={"web_port": free_port()})
    return settings.model_copy(update={"stream": stream})


def test_sigkill_and_sigterm_mid_stream_lose_nothing(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    bundle_dir = tmp_path / "bundle"
    make_tiny_bundle(bundle_dir, classes=CLASSES, task=Task.CATEGORY)
    settings = isolated_settings(
        partitions=PARTITIONS,
        stream={"web_port": free_port(), "confidence_threshold": 0.0, "batch_size": BATCH,
                "batch_within_s": 0.02, "session_timeout_s": 6.0},
    )  # fmt: skip
    feeder = Feeder(settings)
    first = WorkerProcess(settings, tmp_path / "first.log", bundle=bundle_dir)
    first.wait_ready()
    feeder.start()
    first.wait_metric("iotad_flows_scored_total", 300)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = WorkerProcess(_on_new_port(settings), tmp_path / "second.log", bundle=bundle_dir)
    second.wait_ready()
    second.wait_metric("iotad_flows_scored_total", 300)
    assert second.stop(signal.SIGTERM) == 0

    third = WorkerProcess(_on_new_port(settings), tmp_path / "third.log", bundle=bundle_dir)
    try:
        third.wait_ready()
        third.wait_metric("iotad_flows_scored_total", 100)  # the third worker scores too
        feeder.halt.set()
        feeder.join(30)
        raw = consume_all(
            settings.kafka.bootstrap_servers, settings.topics.alerts, idle_s=8, timeout_s=120
        )
    finally:
        feeder.halt.set()
        assert third.stop(signal.SIGTERM) == 0

    alerts = [Alert.model_validate_json(v) for _, v in raw]
    copies = Counter(a.flow_id for a in alerts)
    missing = set(feeder.sent) - set(copies)
    assert not missing, f"{len(missing)} flows lost, e.g. {sorted(missing)[:5]}"
    repeats = sum(n - 1 for n in copies.values())
    assert repeats <= 2 * BATCH * PARTITIONS, f"{repeats} repeated alerts"
    ids: dict[str | None, set[str]] = {}
    for a in alerts:
        ids.setdefault(a.flow_id, set()).add(a.alert_id)
    assert all(len(v) == 1 for v in ids.values())  # a repeat carries the same alert_id

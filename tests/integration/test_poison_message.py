"""A poison message on the real broker: the worker dead-letters it once and keeps scoring.

``[`` × 1100 + ``]`` × 1100 (2.2 KB) used to raise ``RecursionError`` out of the scoring core;
the agent re-raised, the worker stopped, and every restart read the same uncommitted batch
again. Now the worker must dead-letter it exactly once, score every valid flow behind it in the
same partition, and keep running as the same process.
"""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest
from support.bundles import make_tiny_bundle, synthetic_rows
from support.kafka import IsolatedSettings, consume_all, produce
from support.worker import WorkerProcess, flow_message, free_port

from iotad.schemas.features import FeatureLayout
from iotad.schemas.labels import Task
from iotad.schemas.messages import Alert, DeadLetter, DeadLetterCode

pytestmark = pytest.mark.kafka

CLASSES = ("DDoS", "Recon")  # no benign class: every scored flow raises an alert
EVENT_MS = 1_795_718_400_000
POISON = (
    b"[" * 1100 + b"]" * 1100,
    b'{"features": {"Rate": NaN, "IAT": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
)


def test_a_poison_message_is_dead_lettered_once_and_the_worker_keeps_scoring(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    make_tiny_bundle(bundle, classes=CLASSES, task=Task.CATEGORY)
    settings = isolated_settings(
        partitions=1,
        stream={"web_port": free_port(), "confidence_threshold": 0.0, "batch_size": 50},
    )
    rows, _ = synthetic_rows(300, FeatureLayout.CIC39, CLASSES, seed=4)
    flows = [
        (b"dev", orjson.dumps(flow_message(rows[i], None, f"f{i}", f"d{i % 4}", EVENT_MS + i)))
        for i in range(300)
    ]
    # valid flows, a poison message, more flows, the other poison message, more flows: all in
    # one partition, so the flows behind each poison message are read after it
    feed = [*flows[:100], (b"p0", POISON[0]), *flows[100:200], (b"p1", POISON[1]), *flows[200:]]
    bootstrap = settings.kafka.bootstrap_servers

    worker = WorkerProcess(settings, tmp_path / "worker.log", bundle=bundle)
    try:
        worker.wait_ready()
        pid = worker.process.pid
        produce(bootstrap, settings.topics.flows, feed)
        worker.wait_metric("iotad_messages_in_total", len(feed))
        assert worker.metric("iotad_flows_scored_total") == len(flows)
        assert worker.metric("iotad_dead_letters_total", reason="nesting_too_deep") == 2
        alerts = consume_all(bootstrap, settings.topics.alerts, expected=len(flows))
        letters = consume_all(bootstrap, settings.topics.dead_letters, idle_s=3.0)
        assert worker.process.poll() is None and worker.process.pid == pid
    finally:
        assert worker.stop(signal.SIGTERM) == 0

    flow_ids = sorted(Alert.model_validate_json(v).flow_id or "" for _, v in alerts)
    assert flow_ids == sorted(f"f{i}" for i in range(300))  # each exactly once
    dead = [DeadLetter.model_validate_json(v) for _, v in letters]
    assert [(d.error_code, d.source.offset) for d in dead] == [
        (DeadLetterCode.NESTING_TOO_DEEP, 100),
        (DeadLetterCode.NESTING_TOO_DEEP, 201),
    ]
    assert [k for k, _ in letters] == [b"p0", b"p1"]
    log = worker.log_path.read_text(errors="replace")
    assert "not acknowledged" not in log and "Traceback" not in log

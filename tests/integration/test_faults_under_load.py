"""Faults under load: at 6,000 flows/s (envelopes of 200), nothing valid is lost, nothing bad
is left without its dead letter, and repeats stay within one batch per fault.

Four faults, each on its own topics and consumer group:

* the broker stopped (SIGTERM) and started again on the same data dir and port, mid-stream
  (a broker of this test's own, since the session's broker is shared);
* the worker killed with SIGKILL while a batch's alerts are published and its offsets not
  committed, then started again;
* two workers in one consumer group, one killed with SIGKILL: the other takes its partitions;
* the alerts topic deleted and created again mid-stream: meanwhile the broker answers
  ``UNKNOWN_TOPIC_OR_PARTITION`` and then ``NOT_LEADER_OR_FOLLOWER`` to the worker's produce
  requests, as a topic without a leader does. (Raising ``min.insync.replicas`` above the
  replication factor does not do it: Kafka 3.9 caps the minimum at the replication factor.)

A batch whose output cannot be delivered (the producer gives up on a record batch after
``kafka.request_timeout_s``) is sent again, batch by failed batch, for up to
``stream.publish_retry_s``; the deleted-topic test holds the topic away past the request timeout.

The model has no benign class and a threshold of 0, so every flow raises an alert; the
accounting (tests/support/load.py) matches alerts to the flows the broker acknowledged, dead
letters to the bad messages mixed into the feed, and counts repeats by alert id.
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from support.bundles import make_tiny_bundle
from support.kafka import IsolatedSettings
from support.load import (
    EnvelopeFeeder,
    Outcome,
    assert_accounted,
    end_offsets,
    read_outcome,
    read_to_end,
)
from support.signing import suite_public_key
from support.worker import WorkerProcess, free_port

from iotad.broker import admin_client, ensure_topics, list_topics, product_topics, start_broker
from iotad.schemas.labels import Task
from iotad.settings import Settings, load_settings

pytestmark = pytest.mark.kafka
logger = logging.getLogger("iotad.tests.faults")

CLASSES = ("DDoS", "Recon")  # no benign class: with threshold 0 every flow raises an alert
ENVELOPE = 200  # flows per message
BATCH = 10  # messages per worker batch: 2,000 flows
BATCH_FLOWS = BATCH * ENVELOPE
PARTITIONS = 4
STREAM: dict[str, Any] = {
    "confidence_threshold": 0.0, "batch_size": BATCH, "batch_within_s": 0.05,
    "session_timeout_s": 6.0, "lag_interval_s": 1.0,
}  # fmt: skip


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fault-bundle") / "bundle"
    make_tiny_bundle(path, classes=CLASSES, task=Task.CATEGORY)
    return path


def _worker(settings: Settings, log: Path, bundle: Path) -> WorkerProcess:
    stream = settings.stream.model_copy(update={"web_port": free_port()})
    return WorkerProcess(settings.model_copy(update={"stream": stream}), log, bundle=bundle)


def _feeder(settings: Settings) -> EnvelopeFeeder:
    return EnvelopeFeeder(
        settings.kafka.bootstrap_servers, settings.topics.flows, envelope=ENVELOPE
    )


def _scoring(settings: Settings, log: Path, bundle: Path) -> tuple[WorkerProcess, EnvelopeFeeder]:
    """A ready worker and a running feed (started; the caller waits for scoring)."""
    worker = _worker(settings, log, bundle)
    worker.wait_ready()
    feeder = _feeder(settings)
    feeder.start()
    return worker, feeder


def _outcome_of(settings: Settings, feeder: EnvelopeFeeder) -> Any:
    feeder.halt()
    return read_outcome(
        settings.kafka.bootstrap_servers, settings.topics.alerts, settings.topics.dead_letters,
        feeder,
    )  # fmt: skip


@pytest.fixture
def own_broker(tmp_path: Path) -> Settings:
    """Settings for a broker of this test's own (free ports, its own data dir)."""
    port, controller = free_port(), free_port()
    while controller == port:
        controller = free_port()
    settings = load_settings(
        overrides={
            "broker": {"port": port, "controller_port": controller, "heap_mb": 512,
                       "data_dir": str(tmp_path / "kafka"), "start_timeout_s": 120.0},
            "kafka": {"bootstrap_servers": f"127.0.0.1:{port}"},
            "topics": {"partitions": PARTITIONS},
            "stream": {**STREAM, "app_id": "faults.broker", "state_dir": str(tmp_path / "state"),
                       "trusted_keys": [str(suite_public_key())]},
        }
    )  # fmt: skip
    return settings


def test_broker_restart_mid_stream(own_broker: Settings, bundle: Path, tmp_path: Path) -> None:
    settings = own_broker
    broker = start_broker(settings.broker, die_with_parent=True)
    worker = feeder = None
    try:
        ensure_topics(settings.kafka.bootstrap_servers, product_topics(settings.topics))
        worker, feeder = _scoring(settings, tmp_path / "worker.log", bundle)
        worker.wait_metric("iotad_flows_scored_total", 4 * BATCH_FLOWS)
        broker.stop(settings.broker.stop_timeout_s)
        broker = start_broker(settings.broker, die_with_parent=True)
        after = feeder.wait_acked(feeder.acked_count() + 6 * BATCH_FLOWS, timeout_s=90)
        worker.wait_metric("iotad_flows_scored_total", after, timeout_s=90)
        outcome = _outcome_of(settings, feeder)
        assert worker.process.poll() is None, f"the worker stopped:\n{worker.log_tail()}"
        logger.info("%s", assert_accounted(outcome, feeder, max_repeats=BATCH_FLOWS))
    finally:
        if feeder is not None:
            feeder.halt()
        if worker is not None:
            worker.stop(signal.SIGTERM)
        broker.stop(settings.broker.stop_timeout_s)


def _settings(isolated_settings: IsolatedSettings) -> Settings:
    return isolated_settings(partitions=PARTITIONS, stream=STREAM)


def _total(worker: WorkerProcess, name: str) -> float:
    """A counter summed over its labels (e.g. alerts over categories)."""
    return sum(v for (n, _), v in worker.metrics().items() if n == name)


def _drain_and_read(
    worker: WorkerProcess, feeder: EnvelopeFeeder, settings: Settings, *, alerts: bool
) -> Outcome:
    """Pause the feed until the worker has scored and dead-lettered all of it; then read what
    one output topic holds (before the test deletes it)."""
    feeder.pause()
    worker.wait_metric("iotad_flows_scored_total", feeder.acked_count())
    deadline = time.monotonic() + 60
    while _total(worker, "iotad_dead_letters_total") < len(feeder.acked_bad):
        assert time.monotonic() < deadline, "bad messages not dead-lettered within 60 s"
        time.sleep(0.1)
    topic = settings.topics.alerts if alerts else settings.topics.dead_letters
    before = read_to_end(settings.kafka.bootstrap_servers, topic, feeder, alerts=alerts)
    if alerts:
        assert feeder.acked_flows <= before.flows
    else:
        assert set(feeder.acked_bad) <= set(before.dead_markers)
    return before


def _wait_stuck_mid_batch(
    worker: WorkerProcess, feeder: EnvelopeFeeder, settings: Settings, timeout_s: float = 30.0
) -> int:
    """Until the worker holds a batch whose alerts are on the broker but which it has not
    committed (it records alerts only after the commit), and stays so while the feed goes on
    for three batches; how many alerts of that batch were published."""
    deadline = time.monotonic() + timeout_s
    seen: tuple[float, int] | None = None
    while time.monotonic() < deadline:
        recorded = _total(worker, "iotad_alerts_total")
        published = end_offsets(settings.kafka.bootstrap_servers, settings.topics.alerts)
        if published <= recorded:
            seen = None
        elif seen is None or seen[0] != recorded:
            seen = (recorded, feeder.acked_count())
        elif feeder.acked_count() >= seen[1] + 3 * BATCH_FLOWS:
            return published - int(recorded)
        time.sleep(0.05)
    raise AssertionError(
        f"the worker never held a published, uncommitted batch:\n{worker.log_tail()}"
    )


def test_worker_sigkill_mid_batch_then_restarted(
    isolated_settings: IsolatedSettings, bundle: Path, tmp_path: Path
) -> None:
    """SIGKILL while a batch's alerts are published and its offsets not yet committed.

    To be sure the kill lands there, the dead-letter topic is deleted first: the next batch
    holding a bad message publishes its alerts but waits for its dead letter, so it is neither
    committed nor recorded. The restarted worker (the topic created again) reads that batch
    again: its alerts are repeated, with the same alert ids, and nothing else is.
    """
    settings = _settings(isolated_settings)
    bootstrap, dead_letters = settings.kafka.bootstrap_servers, settings.topics.dead_letters
    first, feeder = _scoring(settings, tmp_path / "first.log", bundle)
    second = None
    try:
        first.wait_metric("iotad_flows_scored_total", 4 * BATCH_FLOWS)
        before = _drain_and_read(first, feeder, settings, alerts=False)
        _delete(bootstrap, dead_letters)  # still paused: nothing was written since the read
        feeder.resume()
        in_flight = _wait_stuck_mid_batch(first, feeder, settings)
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        ensure_topics(bootstrap, {dead_letters: PARTITIONS})
        second = _worker(settings, tmp_path / "second.log", bundle)
        second.wait_ready()
        feeder.wait_acked(feeder.acked_count() + 4 * BATCH_FLOWS)
        second.wait_metric("iotad_flows_scored_total", 2 * BATCH_FLOWS)
        feeder.halt()
        outcome = read_outcome(
            bootstrap, settings.topics.alerts, dead_letters, feeder, outcome=before
        )
        assert second.process.poll() is None, f"the worker stopped:\n{second.log_tail()}"
        logger.info(
            "%s; %d alerts were in flight at the kill",
            assert_accounted(outcome, feeder, max_repeats=BATCH_FLOWS),
            in_flight,
        )
        # The held batch is scored again by the new worker, and nothing else is.
        assert 1 <= outcome.repeats <= in_flight
    finally:
        feeder.halt()
        first.stop(signal.SIGKILL)
        if second is not None:
            second.stop(signal.SIGTERM)


def test_two_workers_one_killed_the_other_takes_over(
    isolated_settings: IsolatedSettings, bundle: Path, tmp_path: Path
) -> None:
    settings = _settings(isolated_settings)
    doomed = _worker(settings, tmp_path / "doomed.log", bundle)
    survivor = _worker(settings, tmp_path / "survivor.log", bundle)
    feeder = _feeder(settings)
    try:
        doomed.wait_ready()
        survivor.wait_ready()
        feeder.start()
        # Both hold partitions and score before one dies.
        doomed.wait_metric("iotad_flows_scored_total", 2 * BATCH_FLOWS)
        survivor.wait_metric("iotad_flows_scored_total", 2 * BATCH_FLOWS)
        assert doomed.stop(signal.SIGKILL) == -signal.SIGKILL
        before = survivor.metric("iotad_flows_scored_total")
        # The survivor takes the dead worker's partitions after the session timeout (6 s).
        feeder.wait_acked(feeder.acked_count() + 4 * BATCH_FLOWS)
        outcome = _outcome_of(settings, feeder)
        assert survivor.process.poll() is None, f"the survivor stopped:\n{survivor.log_tail()}"
        # The dead worker's uncommitted batch, and the survivor's own batch in flight when the
        # rebalance revoked its partitions, may both be scored again.
        logger.info("%s", assert_accounted(outcome, feeder, max_repeats=2 * BATCH_FLOWS))
        assert survivor.metric("iotad_flows_scored_total") > before
    finally:
        feeder.halt()
        doomed.stop(signal.SIGKILL)
        survivor.stop(signal.SIGTERM)


def _delete(bootstrap: str, topic: str) -> None:
    """Delete ``topic`` and wait until the broker no longer lists it."""
    with admin_client(bootstrap) as admin:
        admin.delete_topics([topic])
    deadline = time.monotonic() + 30
    while topic in {t.name for t in list_topics(bootstrap)}:
        assert time.monotonic() < deadline, f"{topic} still listed 30 s after its deletion"
        time.sleep(0.1)


def test_alerts_topic_deleted_and_recreated_mid_stream(
    isolated_settings: IsolatedSettings, bundle: Path, tmp_path: Path
) -> None:
    """The topic stays away longer than the output producer waits for a leader (its request
    timeout, 3 s here): the batch's delivery fails, and the worker sends it again until the
    topic is back instead of giving the batch up."""
    # The incident agent reads the alerts topic too; deleting an input topic under a consumer
    # is another fault (docs/faults.md), so this test keeps to the output path.
    settings = isolated_settings(
        partitions=PARTITIONS,
        stream=STREAM,
        kafka={"request_timeout_s": 3.0},
        incidents={"enabled": False},
    )
    bootstrap, alerts = settings.kafka.bootstrap_servers, settings.topics.alerts
    worker, feeder = _scoring(settings, tmp_path / "worker.log", bundle)
    try:
        worker.wait_metric("iotad_flows_scored_total", 4 * BATCH_FLOWS)
        # The alerts written so far are read before the topic goes: the feed pauses until the
        # worker has caught up and the topic is gone (else alerts written after the read would
        # go with the topic).
        before = _drain_and_read(worker, feeder, settings, alerts=True)
        _delete(bootstrap, alerts)  # still paused: nothing was written since the read
        feeder.resume()
        # Flows keep arriving at the full rate while the topic is missing; the worker cannot
        # publish their alerts, so it must hold them (not acknowledge, not drop) meanwhile.
        stalled = worker.metric("iotad_flows_scored_total")
        feeder.wait_acked(feeder.acked_count() + 4 * BATCH_FLOWS)
        worker.wait_metric("iotad_output_resent_batches_total", 1, timeout_s=60)
        assert worker.metric("iotad_flows_scored_total") <= stalled + BATCH_FLOWS
        ensure_topics(bootstrap, {alerts: PARTITIONS})
        after = feeder.wait_acked(feeder.acked_count() + 4 * BATCH_FLOWS)
        worker.wait_metric("iotad_flows_scored_total", after)
        feeder.halt()
        outcome = read_outcome(
            bootstrap, alerts, settings.topics.dead_letters, feeder, outcome=before
        )
        assert worker.process.poll() is None, f"the worker stopped:\n{worker.log_tail()}"
        logger.info("%s", assert_accounted(outcome, feeder, max_repeats=BATCH_FLOWS))
    finally:
        feeder.halt()
        worker.stop(signal.SIGTERM)

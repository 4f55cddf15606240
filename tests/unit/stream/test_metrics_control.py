"""Metrics exposition, and the worker's answer to promote/rollback requests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from support.signing import suite_public_key

from iotad.schemas.control import ControlAction, ModelControl
from iotad.schemas.messages import ModelRef
from iotad.settings import load_settings
from iotad.stream.control_listener import handle_request, parse_control
from iotad.stream.loader import load_model
from iotad.stream.metrics import BatchHistogram, WorkerMetrics
from iotad.stream.model_control import control_event, model_ref
from iotad.stream.runtime import WorkerRuntime


def test_batch_histogram_counts_cumulatively() -> None:
    histogram = BatchHistogram("h", "doc", (0.1, 1.0))
    histogram.observe([0.05, 0.1, 0.5, 2.0])
    histogram.observe(0.01)
    (family,) = list(histogram.collect())
    buckets = {s.labels.get("le"): s.value for s in family.samples if s.name == "h_bucket"}
    assert buckets == {"0.1": 3.0, "1.0": 4.0, "+Inf": 5.0}
    total = next(s.value for s in family.samples if s.name == "h_sum")
    assert abs(total - 2.66) < 1e-9


def test_exposition_names_every_metric() -> None:
    metrics = WorkerMetrics(lambda: {("flows", 0): 7})
    metrics.alerts.labels(category="DDoS").inc(3)
    text = metrics.exposition().decode()
    for name in (
        "iotad_flows_in_total", "iotad_flows_scored_total", "iotad_benign_flows_total",
        'iotad_alerts_total{category="DDoS"} 3.0', "iotad_dead_letters_total",
        "iotad_batch_flows_bucket", "iotad_scoring_seconds_bucket",
        "iotad_event_to_alert_seconds_bucket", "iotad_model_info", "iotad_partitions_assigned",
        'iotad_consumer_lag{partition="0",topic="flows"} 7.0', "iotad_commit_seconds_bucket",
        "iotad_event_loop_lag_seconds_bucket",
    ):  # fmt: skip
        assert name in text


def test_event_loop_watch_records_lag(bundles: dict[str, Path], tmp_path: Path) -> None:
    from iotad.stream.lag import watch_event_loop

    runtime = _runtime(bundles, tmp_path)

    async def run() -> None:
        watcher = asyncio.create_task(watch_event_loop(runtime, interval_s=0.01))
        await asyncio.sleep(0.05)
        time.sleep(0.05)  # block the loop: the next wake-up is late
        await asyncio.sleep(0.03)
        watcher.cancel()

    asyncio.run(run())
    text = runtime.metrics.exposition().decode()
    slow = float(text.split('iotad_event_loop_lag_seconds_bucket{le="0.025"} ')[1].split()[0])
    total = float(text.split("iotad_event_loop_lag_seconds_count ")[1].split()[0])
    assert total >= 3 and slow < total  # one observation is later than 25 ms


def _runtime(bundles: dict[str, Path], tmp_path: Path) -> WorkerRuntime:
    settings = load_settings(
        overrides={
            "stream": {"state_dir": str(tmp_path), "trusted_keys": [str(suite_public_key())]}
        }
    )
    return WorkerRuntime.create(settings, load_model(bundles["binary-v1"], settings.stream))


def _answer(runtime: WorkerRuntime, request: ModelControl) -> list[ModelControl]:
    replies: list[ModelControl] = []

    async def reply(event: ModelControl) -> None:
        replies.append(event)

    asyncio.run(handle_request(request, runtime, reply))
    return replies


def test_promote_swaps_the_model_and_answers_activated(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    runtime = _runtime(bundles, tmp_path)
    manifest = load_model(bundles["binary-v2"], runtime.settings.stream).manifest
    request = control_event(ControlAction.PROMOTE, bundles["binary-v2"], model=model_ref(manifest))
    (reply,) = _answer(runtime, request)
    assert reply.action is ControlAction.ACTIVATED and reply.request_id == request.event_id
    assert runtime.slot.current.manifest.version == "2"
    text = runtime.metrics.exposition().decode()
    assert 'version="2"' in text and 'iotad_model_swaps_total{outcome="activated"} 1.0' in text


def test_incompatible_bundle_is_refused_and_the_old_one_serves(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    runtime = _runtime(bundles, tmp_path)
    (reply,) = _answer(runtime, control_event(ControlAction.PROMOTE, bundles["cic46"], model=None))
    assert reply.action is ControlAction.REFUSED and "cic46" in (reply.reason or "")
    assert runtime.slot.current.manifest.version == "1"
    (reply,) = _answer(runtime, control_event(ControlAction.PROMOTE, tmp_path / "x", model=None))
    assert reply.action is ControlAction.REFUSED and "not a bundle directory" in (
        reply.reason or ""
    )


def test_a_bundle_that_is_not_the_one_requested_is_refused(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    runtime = _runtime(bundles, tmp_path)
    wrong = ModelRef(name="tiny-lr", version="2", sha256="f" * 64)
    (reply,) = _answer(
        runtime, control_event(ControlAction.PROMOTE, bundles["binary-v2"], model=wrong)
    )
    assert reply.action is ControlAction.REFUSED and "the request named" in (reply.reason or "")
    assert runtime.slot.current.manifest.version == "1"


def test_parse_control_ignores_other_messages() -> None:
    assert parse_control(b"hello", {"topic": "m", "partition": 0, "offset": 1}) is None
    event = control_event(ControlAction.ROLLBACK, "/b", model=None)
    assert parse_control(event.model_dump_json().encode(), {}) == event

"""End to end: real CICIoT2023 rows and bad input through a real worker on the real broker.

Every valid flow must come out exactly once, as an alert (validating against the alert schema)
or in the benign count; every injected bad message must be in the dead-letter topic with the
right reason code and its source offset.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import orjson
import pytest
from support.kafka import IsolatedSettings, consume_all, produce
from support.worker import (
    WorkerProcess,
    batch_message,
    flow_message,
    free_port,
    real_rows,
    train_real_bundle,
)

from iotad.schemas.export import SCHEMA_DIR
from iotad.schemas.labels import Category
from iotad.schemas.messages import Alert, DeadLetter

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

FILES = (
    "per_class/XSS/XSS.pcap.csv.gz",
    "per_class/Recon-PingSweep/Recon-PingSweep.pcap.csv.gz",
    "per_class/DDoS-ACK_Fragmentation/DDoS-ACK_Fragmentation12.pcap.csv.gz",
    "ciciot2023_merged39_sample.csv.gz",
)
EVENT_MS = 1_795_718_400_000
MAX_MESSAGE_BYTES = 64 * 1024


def _bad_messages(x: np.ndarray) -> list[tuple[str, bytes]]:
    """(expected dead-letter code, message) for each kind of bad input."""
    base = flow_message(x[0], None, "bad", "dev-bad", EVENT_MS)
    missing = json.loads(json.dumps(base))
    del missing["features"]["Rate"]
    extra = json.loads(json.dumps(base))
    extra["features"]["Weight"] = 1.0
    no_device = json.loads(json.dumps(base))
    del no_device["device_id"]
    nan_text = json.dumps(base).replace(
        f'"Rate": {json.dumps(base["features"]["Rate"])}', '"Rate": NaN'
    )
    assert "NaN" in nan_text
    return [
        ("undecodable", b"\x00\xffnot json at all"),
        ("schema_violation", orjson.dumps(no_device)),
        ("missing_features", orjson.dumps(missing)),
        ("unexpected_features", orjson.dumps(extra)),
        ("non_finite_value", nan_text.encode()),
        ("unsupported_schema", orjson.dumps({**base, "schema": "iotad.flow.v0"})),
        ("oversized", b'{"pad": "' + b"x" * MAX_MESSAGE_BYTES + b'"}'),
        # poison: made the json fallback raise RecursionError, which crash-looped the worker
        ("nesting_too_deep", b"[" * 1100 + b"]" * 1100),
        ("nesting_too_deep", b'{"features": {"Rate": NaN, "IAT": ' + b"[" * 5000 + b"}"),
    ]


@pytest.fixture(scope="module")
def data_and_bundle(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[np.ndarray, np.ndarray, Path]:
    train_x, train_y = real_rows(FILES, rows_per_file=300)
    bundle = train_real_bundle(tmp_path_factory.mktemp("bundle") / "real", train_x, train_y)
    replay = np.concatenate(
        [np.flatnonzero(train_y == label)[:100] for label in np.unique(train_y)]
    )
    x, y = train_x[np.sort(replay)], train_y[np.sort(replay)]
    return x, y, bundle


def test_real_rows_and_bad_input_through_the_worker(
    isolated_settings: IsolatedSettings,
    data_and_bundle: tuple[np.ndarray, np.ndarray, Path],
    tmp_path: Path,
) -> None:
    x, y, bundle = data_and_bundle
    settings = isolated_settings(
        partitions=2,
        topics={"per_category_alerts": True},
        stream={"web_port": free_port(), "confidence_threshold": 0.0, "batch_size": 100,
                "max_message_bytes": MAX_MESSAGE_BYTES},
    )  # fmt: skip
    bootstrap = settings.kafka.bootstrap_servers
    half = len(x) // 2
    valid: list[tuple[bytes, bytes]] = [
        (
            f"dev-{i % 8}".encode(),
            orjson.dumps(flow_message(x[i], str(y[i]), f"f{i}", f"dev-{i % 8}", EVENT_MS + i)),
        )
        for i in range(half)
    ]
    for start in range(half, len(x), 50):
        rows = np.arange(start, min(start + 50, len(x)))
        document = batch_message(
            x[rows], [str(v) for v in y[rows]], [f"f{i}" for i in rows], EVENT_MS
        )
        valid.append((b"gw-test", orjson.dumps(document)))
    # A batch with one NaN row: only that row is refused.
    rows = np.arange(0, 5)
    mixed = batch_message(x[rows], [None] * 5, [f"m{i}" for i in rows], EVENT_MS)
    mixed["features"]["IAT"][3] = math.nan
    bad = _bad_messages(x)

    worker = WorkerProcess(settings, tmp_path / "worker.log", bundle=bundle)
    try:
        report = worker.wait_ready()
        assert report["model"]["name"] == "real-lr" and report["partitions"] == [0, 1]
        produce(bootstrap, settings.topics.flows, valid)
        produce(
            bootstrap,
            settings.topics.flows,
            [(b"mixed", json.dumps(mixed, allow_nan=True).encode())],
        )
        produce(bootstrap, settings.topics.flows, [(b"bad", raw) for _, raw in bad])
        valid_flows = len(x) + 4
        worker.wait_metric("iotad_flows_in_total", valid_flows + len(bad) + 1)
        metrics = worker.metrics()
        assert worker.get("/healthz") == (
            200,
            orjson.dumps({"status": "ok", "worker_id": report["worker_id"]}).decode(),
        )
    finally:
        assert worker.stop() == 0

    def sample(name: str, **labels: str) -> float:
        return metrics.get((name, tuple(sorted(labels.items()))), 0.0)

    scored = sample("iotad_flows_scored_total")
    benign = sample("iotad_benign_flows_total")
    alert_count = int(sum(v for (n, _), v in metrics.items() if n == "iotad_alerts_total"))
    assert scored == valid_flows
    assert sample("iotad_uncertain_flows_total") == 0
    assert alert_count + benign == valid_flows

    raw_alerts = consume_all(bootstrap, settings.topics.alerts, expected=alert_count)
    schema = json.loads((SCHEMA_DIR / "alert.v1.json").read_text())
    alerts = []
    for key, value in raw_alerts:
        jsonschema.Draft202012Validator(schema).validate(orjson.loads(value))
        alerts.append(Alert.model_validate_json(value))
        assert key == alerts[-1].category.encode()
    ids = [a.flow_id for a in alerts]
    assert len(ids) == len(set(ids)) == alert_count  # exactly once
    sent_ids = {f"f{i}" for i in range(len(x))} | {f"m{i}" for i in (0, 1, 2, 4)}
    assert set(ids) <= sent_ids
    assert {a.model.name for a in alerts} == {"real-lr"}
    assert all(a.category != "Benign" for a in alerts)
    by_id = {a.flow_id: a for a in alerts}
    batch_alert = next(a for a in alerts if a.source.index is not None)
    assert batch_alert.source.topic == settings.topics.flows
    labelled = [a for a in alerts if a.ground_truth_label]
    assert labelled and all(
        a.ground_truth_label == str(y[int(a.flow_id[1:])])
        for a in labelled
        if a.flow_id and a.flow_id.startswith("f")
    )
    assert "m3" not in by_id

    for category in {Category(a.category) for a in alerts}:
        topic = f"{settings.topics.alerts}.{category.slug}"
        expected = sum(a.category == category.value for a in alerts)
        copies = consume_all(bootstrap, topic, expected=expected, timeout_s=30)
        assert len(copies) == expected

    letters = [
        DeadLetter.model_validate_json(v)
        for _, v in consume_all(bootstrap, settings.topics.dead_letters, expected=len(bad) + 1)
    ]
    dead_schema = json.loads((SCHEMA_DIR / "dead_letter.v1.json").read_text())
    for letter in letters:
        jsonschema.Draft202012Validator(dead_schema).validate(
            letter.model_dump(mode="json", by_alias=True)
        )
    assert sorted(d.error_code.value for d in letters) == sorted(
        [code for code, _ in bad] + ["non_finite_value"]
    )
    row = next(d for d in letters if d.source.index is not None)
    assert row.source.index == 3 and row.error_code.value == "non_finite_value"
    assert json.loads(base64.b64decode(row.original_b64))["flow_id"] == "m3"
    undecodable = next(d for d in letters if d.error_code.value == "undecodable")
    assert base64.b64decode(undecodable.original_b64) == bad[0][1]
    assert all(d.error_message for d in letters)
    assert sample("iotad_dead_letters_total", reason="oversized") == 1
    assert len({(d.source.partition, d.source.offset, d.source.index) for d in letters}) == len(
        letters
    )

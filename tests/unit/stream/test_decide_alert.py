"""decide and build alerts: benign counted, threshold, top-k, severity, ids, throttle."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import orjson
import pytest

from iotad.schemas.export import SCHEMA_DIR
from iotad.schemas.labels import Category
from iotad.schemas.messages import Alert, ModelRef, Severity
from iotad.stream.core import (
    AlertContext,
    AlertThrottle,
    DecisionPolicy,
    FlowBlock,
    InboundMessage,
    RowOrigin,
    SeverityPolicy,
    ThrottleState,
    alert_id,
    build_alerts,
    decide,
)

CLASSES = ("BenignTraffic", "DDoS-ACK_Fragmentation", "Recon-PortScan")
POLICY = DecisionPolicy(
    classes=CLASSES,
    categories=(Category.BENIGN, Category.DDOS, Category.RECON),
    labels=CLASSES,
    benign_classes=frozenset({"BenignTraffic"}),
    threshold=0.6,
    top_k=2,
)
MODEL = ModelRef(name="m", version="1", sha256="a" * 64)


def test_decide_splits_benign_alert_uncertain() -> None:
    scores = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.3, 0.35, 0.35], [0.4, 0.3, 0.3]])
    d = decide(scores.astype(np.float32), POLICY)
    assert d.benign.tolist() == [True, False, False, True]
    assert d.alert.tolist() == [False, True, False, False]
    assert d.uncertain.tolist() == [False, False, True, False]
    assert (d.benign ^ d.alert ^ d.uncertain).all()  # exactly one outcome per flow


def test_severity_policy() -> None:
    policy = SeverityPolicy()
    assert policy.severity(Category.MIRAI, 0.99) is Severity.CRITICAL
    assert policy.severity(Category.RECON, 0.99) is Severity.LOW
    assert policy.severity(Category.RECON, 0.1) is Severity.LOW
    assert policy.severity(Category.WEB, 0.5) is Severity.LOW
    assert policy.severity(Category.ATTACK, 0.9) is Severity.MEDIUM


def test_alert_id_is_deterministic_per_source_and_model() -> None:
    first = alert_id("t", 1, 42, None, "a" * 64)
    assert first == alert_id("t", 1, 42, None, "a" * 64)
    assert first != alert_id("t", 1, 42, 0, "a" * 64)
    assert first != alert_id("t", 1, 42, None, "b" * 64)
    assert len(first) == 32


def _alerts(
    scores: np.ndarray, throttle: AlertThrottle | None = None, state: ThrottleState | None = None
) -> tuple[list[dict[str, object]], int]:
    n = len(scores)
    block = FlowBlock(
        "gw", tuple(f"dev-{i % 2}" for i in range(n)), tuple(range(100, 100 + n)),
        None, tuple(["XSS"] * n), (), True, tuple(range(n)),
    )  # fmt: skip
    source = InboundMessage(b"", "flows", 3, 77)
    d = decide(scores.astype(np.float32), POLICY)
    context = AlertContext(MODEL, POLICY, SeverityPolicy(), 1_795_718_400_000, throttle)
    built = build_alerts(
        d.alert_rows, scores.astype(np.float32), d, RowOrigin.of([block]), [block], [source],
        context, state,
    )  # fmt: skip
    assert all(r.key == r.category.value.encode() for r in built.records)
    return [orjson.loads(r.value) for r in built.records], sum(built.suppressed.values())


def test_alerts_validate_against_the_schema_and_model() -> None:
    documents, _ = _alerts(np.array([[0.05, 0.9, 0.05], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05]]))
    schema = json.loads((SCHEMA_DIR / "alert.v1.json").read_text())
    assert len(documents) == 2
    for document in documents:
        jsonschema.Draft202012Validator(schema).validate(document)
        alert = Alert.model_validate(document)
        assert alert.model == MODEL
        assert alert.source.partition == 3 and alert.source.offset == 77
        assert len(alert.top_k) == 2
        assert alert.top_k[0].label == alert.label
        assert alert.ground_truth_label == "XSS"
    first = Alert.model_validate(documents[0])
    assert (first.category, first.label, first.severity) == ("DDoS", CLASSES[1], Severity.HIGH)
    assert first.source.index == 0 and first.event_time_ms == 100


def test_throttle_limits_alerts_per_device_and_category() -> None:
    scores = np.tile([0.05, 0.9, 0.05], (6, 1))
    throttle = AlertThrottle(window_ms=60_000, max_per_window=1)
    documents, suppressed = _alerts(scores, throttle, ThrottleState())
    assert len(documents) == 2  # dev-0 and dev-1, once each
    assert suppressed == 4


def test_throttle_needs_state() -> None:
    with pytest.raises(ValueError, match="ThrottleState"):
        _alerts(np.tile([0.05, 0.9, 0.05], (2, 1)), AlertThrottle(1000), None)


def test_throttle_window_expires() -> None:
    throttle = AlertThrottle(window_ms=1000, max_per_window=1)
    state = ThrottleState()
    key = ("g", "d", Category.DDOS)
    assert throttle.admit(state, key, 0)
    assert not throttle.admit(state, key, 500)
    assert throttle.admit(state, key, 1500)

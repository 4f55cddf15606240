"""Decision = classifier + gateway baseline: every combination, and process_batch end to end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from iotad.schemas.features import FEATURES_39
from iotad.schemas.labels import Category
from iotad.schemas.messages import Alert, ModelRef
from iotad.stream.core import InboundMessage, ScoringOptions, ServingModel, process_batch
from iotad.stream.core.baseline import AnomalyVerdict, GatewayBaseline
from iotad.stream.core.decide import DecisionPolicy, combine, decide

POLICY = DecisionPolicy(
    ("DDoS", "Benign"), (Category.DDOS, Category.BENIGN), (None, None),
    frozenset({"Benign"}), 0.7, 2,
)  # fmt: skip
BASELINE_REF = ModelRef(name="baseline-gw-a", version="1", sha256="a" * 64)


def _verdict(covered: list[bool], anomalous: list[bool]) -> AnomalyVerdict:
    return AnomalyVerdict(
        covered=np.array(covered), score=np.where(covered, 1.0, np.nan).astype(np.float32),
        anomalous=np.array(anomalous), baseline_index=np.where(covered, 0, -1),
        baselines=(), missing={},
    )  # fmt: skip


def test_every_combination_of_classifier_and_baseline() -> None:
    scores = np.array(
        [[0.9, 0.1], [0.1, 0.9], [0.55, 0.45], [0.95, 0.05], [0.9, 0.1], [0.55, 0.45], [0.2, 0.8]],
        dtype=np.float32,
    )
    covered = [True, True, True, True, False, False, False]
    anomalous = [True, True, False, False, False, False, False]
    d = combine(decide(scores, POLICY), _verdict(covered, anomalous))
    assert d.unknown is not None and d.normal is not None
    # anomalous + attack → category alert; anomalous + benign → Unknown alert
    assert d.alert[:2].all() and not d.unknown[0] and d.unknown[1]
    # normal for the gateway → no alert, unsure (row 2) or even confident (row 3)
    assert not d.alert[2:4].any() and d.normal[2:4].all()
    # no baseline → the classifier alone: confident attack alerts, unsure is uncertain
    assert d.alert[4] and d.uncertain[5] and d.benign[6] and not d.alert[5:].any()
    every = np.vstack([d.alert, d.benign, d.uncertain, d.normal]).astype(int)
    assert every.sum(axis=0).tolist() == [1] * len(scores)  # each flow in exactly one place


def test_no_baseline_anywhere_leaves_the_classifier_decisions_unchanged() -> None:
    scores = np.array([[0.9, 0.1], [0.6, 0.4], [0.1, 0.9]], dtype=np.float32)
    plain = decide(scores, POLICY)
    same = combine(plain, _verdict([False] * 3, [False] * 3))
    assert same is plain and same.alert.tolist() == [True, False, False]


def test_per_class_thresholds_override_the_global_one() -> None:
    policy = DecisionPolicy(
        ("DDoS", "Recon", "Benign"), (Category.DDOS, Category.RECON, Category.BENIGN),
        (None, None, None), frozenset({"Benign"}), 0.5, 2, class_thresholds={"Recon": 0.8},
    )  # fmt: skip
    scores = np.array([[0.6, 0.3, 0.1], [0.3, 0.6, 0.1], [0.05, 0.9, 0.05]], dtype=np.float32)
    assert decide(scores, policy).alert.tolist() == [True, False, True]
    with pytest.raises(ValueError, match="Web"):
        DecisionPolicy(("DDoS",), (Category.DDOS,), (None,), frozenset(), 0.5, 1, {"Web": 0.1})


class VarianceScorer:
    """A stand-in baseline whose anomaly score is the flow's Variance (a feature the classifier
    does not use): the first column of its own order, the reverse of the flows'."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def scores(self, raw: NDArray[np.floating]) -> NDArray[np.float32]:
        self.calls.append(len(raw))
        return np.asarray(raw[:, 0], dtype=np.float32)


def test_process_batch_scores_each_gateway_with_its_own_baseline(
    label_model: ServingModel,
    label_rows: tuple[np.ndarray, np.ndarray],
    make_flow: Callable[..., dict[str, Any]],
    message: Callable[..., InboundMessage],
) -> None:
    x, _ = label_rows
    rows = x[:40].astype(np.float64)
    rows[:, 38] = np.where(np.arange(40) % 2 == 0, 20.0, 1.0)  # Variance: 20 or 1
    scorer = VarianceScorer()
    baseline = GatewayBaseline("gw-a", scorer, 10.0, BASELINE_REF, "baseline-gw-a@1",
                               tuple(reversed(FEATURES_39)))  # fmt: skip
    messages = [
        message(make_flow(rows[i], i, gateway_id="gw-a" if i < 20 else "gw-b"), offset=i)
        for i in range(40)
    ]
    options = ScoringOptions(
        max_message_bytes=1 << 20, max_dead_letter_original_bytes=4096, collect_uncovered=True
    )
    outcome = process_batch(
        messages, label_model, options, now_ms=1_795_718_400_500, baselines={"gw-a": baseline}
    )
    assert scorer.calls == [20]  # one run for the gateway's rows, none for gw-b
    alerts = [Alert.model_validate_json(a.value) for a in outcome.alerts]
    gw_a = [a for a in alerts if a.gateway_id == "gw-a"]
    assert sorted(int(a.flow_id[2:]) for a in gw_a) == list(range(0, 20, 2))  # the anomalous
    assert outcome.normal == 10
    for a in gw_a:
        assert a.anomaly_score == 20.0 and a.baseline == BASELINE_REF
        top = a.top_k[0].label
        assert (a.category == "Unknown") == (top == "BenignTraffic")
        assert a.label is None if a.category == "Unknown" else a.label == top
    gw_b = [a for a in alerts if a.gateway_id == "gw-b"]
    assert gw_b and all(a.anomaly_score is None and a.baseline is None for a in gw_b)
    assert {a.category for a in gw_b} <= {"DDoS", "Recon", "Web"}
    assert outcome.missing_baseline == {"gw-b": 20}
    assert outcome.uncovered_rows["gw-b"].shape == (20, 39)
    np.testing.assert_allclose(outcome.uncovered_rows["gw-b"][:, 38], rows[20:, 38])
    assert outcome.scored == len(alerts) + outcome.benign + outcome.uncertain + outcome.normal
    unknown = [r for r in outcome.alerts if r.category is Category.UNKNOWN]
    assert unknown and all(r.key == b"Unknown" for r in unknown)
    assert any(a.category != "Unknown" for a in gw_a)  # both kinds occur


def test_a_batch_whose_only_flow_is_refused_after_validation_scores_nothing(
    label_model: ServingModel,
    make_flow: Callable[..., dict[str, Any]],
    message: Callable[..., InboundMessage],
) -> None:
    """A flow beyond float32 passes validation, then leaves the matrix empty: no baseline runs."""
    scorer = VarianceScorer()
    baseline = GatewayBaseline("gw-a", scorer, 10.0, BASELINE_REF, "baseline-gw-a@1",
                               tuple(reversed(FEATURES_39)))  # fmt: skip
    overflow = make_flow([1e300] + [1.0] * 38, 0, gateway_id="gw-b")
    options = ScoringOptions(max_message_bytes=1 << 20, max_dead_letter_original_bytes=4096)
    outcome = process_batch(
        [message(overflow, offset=0)],
        label_model,
        options,
        now_ms=1_795_718_400_500,
        baselines={"gw-a": baseline},
    )
    assert outcome.scored == 0 and scorer.calls == []
    assert [d.code.value for d in outcome.dead_letters] == ["non_finite_value"]
    assert outcome.missing_baseline == {}

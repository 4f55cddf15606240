"""process_batch with a real bundle: every flow ends in exactly one place."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from iotad.schemas.messages import Alert, DeadLetter, DeadLetterCode
from iotad.stream.core import InboundMessage, ScoringOptions, ServingModel, process_batch

OPTIONS = ScoringOptions(max_message_bytes=256 * 1024, max_dead_letter_original_bytes=4096)
Doc = dict[str, Any]


def test_mixed_batch_accounts_for_every_flow(
    label_model: ServingModel,
    label_rows: tuple[np.ndarray, np.ndarray],
    make_flow: Callable[..., Doc],
    make_batch: Callable[..., Doc],
    message: Callable[..., InboundMessage],
) -> None:
    x, y = label_rows
    bad_batch = make_batch(x[10:15], start=10)
    bad_batch["features"]["Rate"][1] = math.nan
    messages = [
        *(message(make_flow(x[i], i), offset=i) for i in range(5)),
        message(make_batch(x[5:10], start=5), offset=5),
        message(json.dumps(bad_batch, allow_nan=True).encode(), offset=6),
        message(b"\xffgarbage", offset=7),
        message({"schema": "iotad.flow.v7"}, offset=8),
        message(b"{" + b" " * 300_000 + b"}", offset=9),
        message(make_flow([1e300] + [1.0] * 38, 99), offset=10),
    ]
    outcome = process_batch(messages, label_model, OPTIONS, now_ms=1_795_718_400_500)

    assert outcome.scored == 14  # 5 singles + 5 + 4 good rows of the bad batch
    assert outcome.scored == len(outcome.alerts) + outcome.benign + outcome.uncertain
    assert outcome.uncertain == 0  # threshold 0
    assert outcome.messages == len(messages)
    codes = sorted(d.code.value for d in outcome.dead_letters)
    assert codes == ["non_finite_value", "non_finite_value", "oversized", "undecodable",
                     "unsupported_schema"]  # fmt: skip
    for record in outcome.dead_letters:
        letter = DeadLetter.model_validate_json(record.value)
        assert letter.source.topic == "flows"
        assert letter.error_message
    nan_row = next(
        DeadLetter.model_validate_json(d.value)
        for d in outcome.dead_letters
        if d.code is DeadLetterCode.NON_FINITE_VALUE and d.index == 1
    )
    assert nan_row.source.offset == 6 and nan_row.source.index == 1
    reencoded = json.loads(base64.b64decode(nan_row.original_b64))
    assert reencoded["flow_id"] == "f-11" and math.isnan(reencoded["features"]["Rate"])
    oversized = next(d for d in outcome.dead_letters if d.code is DeadLetterCode.OVERSIZED)
    letter = DeadLetter.model_validate_json(oversized.value)
    assert letter.original_size == 300_002 and len(base64.b64decode(letter.original_b64)) == 4096
    assert "cut to its first 4096" in letter.error_message

    alerts = [Alert.model_validate_json(a.value) for a in outcome.alerts]
    assert {a.model.sha256 for a in alerts} == {label_model.model.sha256}
    assert all(a.category != "Benign" for a in alerts)
    assert len({a.alert_id for a in alerts}) == len(alerts)
    sources = {(a.source.offset, a.source.index) for a in alerts}
    assert (6, 1) not in sources  # the NaN row was not scored


def test_model_separates_the_synthetic_classes(
    label_model: ServingModel,
    label_rows: tuple[np.ndarray, np.ndarray],
    make_batch: Callable[..., Doc],
    message: Callable[..., InboundMessage],
) -> None:
    x, y = label_rows
    outcome = process_batch([message(make_batch(x))], label_model, OPTIONS, now_ms=1)
    alerts = [Alert.model_validate_json(a.value) for a in outcome.alerts]
    predicted = {a.source.index: a.label for a in alerts}
    attack_rows = [i for i, label in enumerate(y) if label != "BenignTraffic"]
    hits = sum(predicted.get(i) == y[i] for i in attack_rows)
    assert outcome.scored == len(y)
    assert hits / len(attack_rows) > 0.8
    assert abs(outcome.benign - int((y == "BenignTraffic").sum())) <= 0.2 * len(y)


def test_an_all_bad_batch_scores_nothing(
    label_model: ServingModel, message: Callable[..., InboundMessage]
) -> None:
    outcome = process_batch([message(b"nope"), message(b"[]")], label_model, OPTIONS, now_ms=1)
    assert outcome.scored == 0 and outcome.alerts == []
    assert [d.code for d in outcome.dead_letters] == [
        DeadLetterCode.UNDECODABLE,
        DeadLetterCode.SCHEMA_VIOLATION,
    ]


def test_alerts_name_the_hosts_the_gateway_sent(
    label_model: ServingModel,
    label_rows: tuple[np.ndarray, np.ndarray],
    make_flow: Callable[..., Doc],
    make_batch: Callable[..., Doc],
    message: Callable[..., InboundMessage],
) -> None:
    x, y = label_rows
    x = x[y != "BenignTraffic"][:6]  # attack rows: with threshold 0 each one alerts
    batch = make_batch(x[:4])
    batch["src_ip"] = [f"192.0.2.{i}" for i in range(4)]
    batch["dst_ip"] = ["198.51.100.7", None, "198.51.100.7", None]
    single = make_flow(x[4], 4, src_ip="192.0.2.99", dst_ip="198.51.100.8")
    plain = make_flow(x[5], 5)
    messages = [message(batch, offset=0), message(single, offset=1), message(plain, offset=2)]
    outcome = process_batch(messages, label_model, OPTIONS, now_ms=1_795_718_400_500)

    hosts = {
        (a.source.offset, a.source.index): (a.src_ip, a.dst_ip)
        for a in (Alert.model_validate_json(r.value) for r in outcome.alerts)
    }
    expected = {
        (0, 0): ("192.0.2.0", "198.51.100.7"),
        (0, 1): ("192.0.2.1", None),
        (0, 2): ("192.0.2.2", "198.51.100.7"),
        (0, 3): ("192.0.2.3", None),
        (1, None): ("192.0.2.99", "198.51.100.8"),
        (2, None): (None, None),
    }
    assert hosts == expected

"""validate: schema (pydantic), then the model's features; bad rows of a batch go alone."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iotad.schemas.features import FEATURES_39, FEATURES_46, FeatureLayout
from iotad.schemas.messages import DeadLetterCode, Flow
from iotad.stream.core import Envelope, FeatureSpec, Rejected, decode, validate

Doc = dict[str, Any]
SPEC = FeatureSpec(FeatureLayout.CIC39, FEATURES_39)


def _envelope(document: Doc) -> Envelope:
    decoded = decode(json.dumps(document, allow_nan=True).encode(), max_bytes=1 << 24)
    assert isinstance(decoded, Envelope)
    return decoded


def _only(rejected: tuple[Rejected, ...]) -> Rejected:
    assert len(rejected) == 1
    return rejected[0]


def test_valid_flow_becomes_a_block_in_spec_order(make_flow: Callable[..., Doc]) -> None:
    values = np.arange(39, dtype=float)
    result = validate(_envelope(make_flow(values)), SPEC)
    assert result.rejected == ()
    assert result.block is not None and not result.block.columnar
    assert list(result.block.values[0]) == values.tolist()
    assert result.block.index is None


def test_spec_order_differs_from_message_order(make_flow: Callable[..., Doc]) -> None:
    reversed_spec = FeatureSpec(FeatureLayout.CIC39, tuple(reversed(FEATURES_39)))
    block = validate(_envelope(make_flow(np.arange(39))), reversed_spec).block
    assert block is not None
    assert list(block.values[0]) == list(reversed(np.arange(39.0).tolist()))


def test_missing_features(make_flow: Callable[..., Doc]) -> None:
    document = make_flow(np.ones(39))
    del document["features"]["Rate"], document["features"]["IAT"]
    rejected = _only(validate(_envelope(document), SPEC).rejected)
    assert rejected.code is DeadLetterCode.MISSING_FEATURES
    assert "Rate" in rejected.message and "IAT" in rejected.message


def test_features_of_the_other_layout_are_unexpected(make_flow: Callable[..., Doc]) -> None:
    document = make_flow(np.ones(39))
    document["features"]["Weight"] = 1.0
    rejected = _only(validate(_envelope(document), SPEC).rejected)
    assert rejected.code is DeadLetterCode.UNEXPECTED_FEATURES
    assert "Weight" in rejected.message


def test_a_46_feature_flow_against_a_39_feature_model(make_flow: Callable[..., Doc]) -> None:
    document = make_flow(np.ones(39))
    document["features"] = dict.fromkeys(FEATURES_46, 1.0)
    assert _only(validate(_envelope(document), SPEC).rejected).code is (
        DeadLetterCode.MISSING_FEATURES
    )


def test_unknown_feature_name_is_unexpected(make_flow: Callable[..., Doc]) -> None:
    document = make_flow(np.ones(39))
    document["features"]["Bogus"] = 1.0
    assert _only(validate(_envelope(document), SPEC).rejected).code is (
        DeadLetterCode.UNEXPECTED_FEATURES
    )


def test_nan_and_infinity_are_non_finite(make_flow: Callable[..., Doc]) -> None:
    for bad in (math.nan, math.inf, -math.inf):
        document = make_flow(np.ones(39))
        document["features"]["Rate"] = bad
        rejected = _only(validate(_envelope(document), SPEC).rejected)
        assert rejected.code is DeadLetterCode.NON_FINITE_VALUE
        assert "features.Rate" in rejected.message


def test_schema_violation_keeps_the_original(make_flow: Callable[..., Doc]) -> None:
    document = make_flow(np.ones(39))
    del document["device_id"]
    envelope = _envelope(document)
    rejected = _only(validate(envelope, SPEC).rejected)
    assert rejected.code is DeadLetterCode.SCHEMA_VIOLATION
    assert "device_id" in rejected.message
    assert rejected.original == envelope.original


def test_valid_batch(make_batch: Callable[..., Doc]) -> None:
    rows = np.arange(3 * 39, dtype=float).reshape(3, 39)
    result = validate(_envelope(make_batch(rows)), SPEC)
    assert result.rejected == ()
    assert result.block is not None and result.block.columnar
    assert list(result.block.index or ()) == [0, 1, 2]
    assert list(result.block.values[0]) == rows[:, 0].tolist()


def test_one_bad_row_dead_letters_only_that_row(make_batch: Callable[..., Doc]) -> None:
    rows = np.ones((4, 39))
    document = make_batch(rows)
    document["features"]["Rate"][2] = math.nan
    document["device_id"][3] = ""
    result = validate(_envelope(document), SPEC)
    assert result.block is not None
    assert list(result.block.index or ()) == [0, 1]
    codes = {r.index: r.code for r in result.rejected}
    assert codes == {2: DeadLetterCode.NON_FINITE_VALUE, 3: DeadLetterCode.SCHEMA_VIOLATION}
    row2 = next(r for r in result.rejected if r.index == 2)
    reencoded = json.loads(row2.original)
    assert reencoded["schema"] == "iotad.flow.v1" and reencoded["device_id"] == "dev-2"
    assert math.isnan(reencoded["features"]["Rate"])


def test_misaligned_batch_is_refused_whole(make_batch: Callable[..., Doc]) -> None:
    document = make_batch(np.ones((3, 39)))
    document["device_id"] = document["device_id"][:2]
    rejected = _only(validate(_envelope(document), SPEC).rejected)
    assert rejected.code is DeadLetterCode.SCHEMA_VIOLATION and rejected.index is None


def test_misaligned_batch_with_a_nan_is_refused_whole(make_batch: Callable[..., Doc]) -> None:
    document = make_batch(np.ones((3, 39)))
    document["features"]["Rate"][0] = math.nan
    document["count"] = 4
    rejected = _only(validate(_envelope(document), SPEC).rejected)
    assert rejected.index is None


def test_batch_with_missing_features_is_refused_whole(make_batch: Callable[..., Doc]) -> None:
    document = make_batch(np.ones((3, 39)))
    del document["features"]["Std"]
    rejected = _only(validate(_envelope(document), SPEC).rejected)
    assert rejected.code is DeadLetterCode.MISSING_FEATURES and rejected.index is None


finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda n: st.tuples(
            # An array strategy, not nested lists: 12 x 39 list elements overrun Hypothesis's
            # example buffer often enough to fail its filter_too_much health check.
            arrays(np.float64, (n, 39), elements=finite).map(lambda a: a.tolist()),
            st.sets(st.integers(min_value=0, max_value=n - 1)),
            st.sampled_from([math.nan, math.inf, -math.inf]),
        )
    )
)
def test_property_bad_rows_are_exactly_the_injected_ones(
    case: tuple[list[list[float]], set[int], float],
) -> None:
    rows, bad, value = case
    document: Doc = {
        "schema": "iotad.flow_batch.v1",
        "gateway_id": "g",
        "count": len(rows),
        "device_id": [f"d{i}" for i in range(len(rows))],
        "event_time_ms": list(range(len(rows))),
        "features": {n: [r[c] for r in rows] for c, n in enumerate(FEATURES_39)},
    }
    for i in bad:
        document["features"]["Rate"][i] = value
    result = validate(_envelope(document), SPEC)
    assert {r.index for r in result.rejected} == bad
    assert all(r.code is DeadLetterCode.NON_FINITE_VALUE for r in result.rejected)
    good = [i for i in range(len(rows)) if i not in bad]
    if not good:
        assert result.block is None
        return
    assert result.block is not None
    assert list(result.block.index or ()) == good
    for c in range(39):
        assert list(result.block.values[c]) == [rows[i][c] for i in good]


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=39, max_size=39), st.sets(st.sampled_from(FEATURES_39)))
def test_property_single_flow_missing_any_feature_is_refused(
    values: list[float], dropped: set[str]
) -> None:
    document = {
        "gateway_id": "g",
        "device_id": "d",
        "event_time_ms": 1,
        "features": {n: v for n, v in zip(FEATURES_39, values, strict=True) if n not in dropped},
    }
    result = validate(_envelope(document), SPEC)
    if dropped and len(dropped) < 39:
        assert result.block is None
        assert _only(result.rejected).code is DeadLetterCode.MISSING_FEATURES
    elif not dropped:
        assert result.block is not None and list(result.block.values[0]) == values
        flow = Flow.model_validate(orjson.loads(orjson.dumps(document)))
        assert list(flow.features.values()) == values


def test_batch_hosts_travel_with_their_rows(make_batch: Callable[..., Doc]) -> None:
    document = make_batch(np.ones((3, 39)))
    document["src_ip"] = ["10.0.0.1", None, "10.0.0.3"]
    document["dst_ip"] = ["10.0.0.9", "10.0.0.9", ""]
    result = validate(_envelope(document), SPEC)
    assert result.block is not None
    assert list(result.block.index or ()) == [0, 1]
    assert list(result.block.src_ip or ()) == ["10.0.0.1", None]
    assert list(result.block.dst_ip or ()) == ["10.0.0.9", "10.0.0.9"]
    bad = _only(result.rejected)
    assert bad.index == 2 and "dst_ip" in bad.message
    assert json.loads(bad.original)["src_ip"] == "10.0.0.3"


def test_batch_with_a_short_host_column_is_refused_whole(make_batch: Callable[..., Doc]) -> None:
    document = make_batch(np.ones((3, 39)))
    document["src_ip"] = ["10.0.0.1"]
    rejected = _only(validate(_envelope(document), SPEC).rejected)
    assert rejected.index is None and "src_ip=1" in rejected.message

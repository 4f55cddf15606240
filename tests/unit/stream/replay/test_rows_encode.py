"""Row validation and the row → message path (properties checked with hypothesis)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iotad.schemas.features import FEATURES_39, FEATURES_46, FeatureLayout
from iotad.schemas.messages import Flow, FlowBatch
from iotad.stream.replay.encode import DeviceBatches, PendingFlow, encode_batch, encode_flow
from iotad.stream.replay.rows import RowParser
from iotad.stream.replay.types import CaptureFile, Rejection, RejectReason

PER_CLASS = CaptureFile(
    path=Path("XSS/XSS.pcap.csv"),
    layout=FeatureLayout.CIC39,
    header=FEATURES_39,
    label_column=None,
    path_label="XSS",
    stem="XSS",
)
MERGED = CaptureFile(
    path=Path("Merged01.csv"),
    layout=FeatureLayout.CIC39,
    header=(*FEATURES_39, "Label"),
    label_column=len(FEATURES_39),
    path_label=None,
    stem="Merged01",
)
# Part-file header in a shuffled order, with the extra column some copies carry.
PART = CaptureFile(
    path=Path("part-00000.csv"),
    layout=FeatureLayout.CIC46,
    header=("label", *reversed(FEATURES_46), "final_label"),
    label_column=0,
    path_label=None,
    stem="part-00000",
)

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _row(values: list[float]) -> list[str]:
    return [repr(v) for v in values]


def test_valid_per_class_row_takes_the_path_label() -> None:
    parsed = RowParser(PER_CLASS).parse(["1.5"] * 39)
    assert parsed == ([1.5] * 39, "XSS")


def test_merged_labels_are_canonical() -> None:
    parsed = RowParser(MERGED).parse(["0"] * 39 + ["DDOS-ACK_FRAGMENTATION"])
    assert not isinstance(parsed, Rejection)
    assert parsed[1] == "DDoS-ACK_Fragmentation"


def test_part_file_columns_are_mapped_by_name() -> None:
    values = [float(i) for i in range(46)]
    fields = ["DoS-SYN_Flood", *(repr(v) for v in reversed(values)), "DoS"]
    parser = RowParser(PART)
    assert parser.names == FEATURES_46
    assert parser.parse(fields) == (values, "DoS-SYN_Flood")


@pytest.mark.parametrize(
    ("fields", "reason", "detail"),
    [
        (["1"] * 38, RejectReason.WRONG_COLUMN_COUNT, "38 fields"),
        (["1"] * 40, RejectReason.WRONG_COLUMN_COUNT, "40 fields"),
        (["1"] * 3 + ["inf"] + ["1"] * 35, RejectReason.NON_FINITE, "Rate='inf'"),
        (["1"] * 3 + ["NaN"] + ["1"] * 35, RejectReason.NON_FINITE, "Rate='NaN'"),
        (["1"] * 34 + [""] + ["1"] * 4, RejectReason.EMPTY_VALUE, "Std is empty"),
        (["x"] + ["1"] * 38, RejectReason.NON_NUMERIC, "Header_Length='x'"),
    ],
)
def test_bad_rows_are_refused_with_reason(
    fields: list[str], reason: RejectReason, detail: str
) -> None:
    parsed = RowParser(PER_CLASS).parse(fields)
    assert isinstance(parsed, Rejection)
    assert parsed.reason is reason
    assert detail in parsed.detail


def test_unknown_label_is_refused() -> None:
    parsed = RowParser(MERGED).parse(["0"] * 39 + ["NOT_A_LABEL"])
    assert parsed == Rejection(RejectReason.UNKNOWN_LABEL, "label='NOT_A_LABEL'")


def test_natural_duration_is_iat_times_number() -> None:
    parser = RowParser(PER_CLASS)
    values = [0.0] * 39
    values[FEATURES_39.index("IAT")] = 0.03
    values[FEATURES_39.index("Number")] = 10.0
    assert parser.natural_duration_s(values) == pytest.approx(0.3)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(finite, min_size=39, max_size=39), row=st.integers(0, 10**9))
def test_row_to_flow_message_round_trips_exactly(values: list[float], row: int) -> None:
    parser = RowParser(PER_CLASS)
    parsed = parser.parse(_row(values))
    assert not isinstance(parsed, Rejection)
    flow = PendingFlow(f"XSS-dev{row % 16:02d}", 1_700_000_000_000, f"XSS:{row}", *parsed)
    message = Flow.model_validate_json(encode_flow("gw", parser.names, flow))
    assert list(message.features) == list(FEATURES_39)
    assert list(message.features.values()) == values
    assert (message.label, message.device_id, message.flow_id) == (
        "XSS",
        flow.device_id,
        f"XSS:{row}",
    )


@settings(max_examples=60, deadline=None)
@given(
    column=st.integers(0, 38),
    bad=st.sampled_from(["", " ", "abc", "1,5", "inf", "-inf", "nan", "1e999", "0x10", "--1"]),
)
def test_a_bad_value_in_any_column_is_refused_never_raised(column: int, bad: str) -> None:
    fields = ["1.0"] * 39
    fields[column] = bad
    parsed = RowParser(PER_CLASS).parse(fields)
    assert isinstance(parsed, Rejection)
    assert parsed.reason in {
        RejectReason.EMPTY_VALUE,
        RejectReason.NON_NUMERIC,
        RejectReason.NON_FINITE,
    }
    assert FEATURES_39[column] in parsed.detail


@settings(max_examples=30, deadline=None)
@given(
    # An array strategy, not nested lists: up to 40 x 46 list elements overrun Hypothesis's
    # example buffer often enough to fail its health checks.
    rows=st.integers(1, 40).flatmap(
        lambda n: arrays(np.float64, (n, 46), elements=finite).map(lambda a: a.tolist())
    )
)
def test_batch_envelope_round_trips_column_by_column(rows: list[list[float]]) -> None:
    flows = [
        PendingFlow("dev", 1000 + i, f"f:{i}", values, "DoS-SYN_Flood" if i % 2 else None)
        for i, values in enumerate(rows)
    ]
    [(envelope, count)] = encode_batch("gw", FEATURES_46, flows, max_bytes=10**9)
    batch = FlowBatch.model_validate_json(envelope)
    assert count == batch.count == len(rows)
    for j, name in enumerate(FEATURES_46):
        assert batch.features[name] == [r[j] for r in rows]
    labels = [f.label for f in flows]
    assert batch.label == (labels if any(labels) else None)
    assert batch.event_time_ms == [f.event_time_ms for f in flows]


def test_oversized_envelopes_are_split_in_order() -> None:
    flows = [PendingFlow("dev", i, f"f:{i}", [float(i)] * 39, None) for i in range(100)]
    one = len(encode_batch("gw", FEATURES_39, flows, max_bytes=10**9)[0][0])
    parts = encode_batch("gw", FEATURES_39, flows, max_bytes=one // 3)
    assert len(parts) >= 3
    assert all(len(envelope) <= one // 3 for envelope, _ in parts)
    ids = [i for envelope, _ in parts for i in orjson.loads(envelope)["flow_id"]]
    assert ids == [f"f:{i}" for i in range(100)]
    assert sum(count for _, count in parts) == 100


def test_device_batches_release_full_buffers_and_drain_the_rest() -> None:
    batches = DeviceBatches(size=3)
    released = [batches.add(PendingFlow(f"d{i % 2}", i, f"f:{i}", [0.0], None)) for i in range(7)]
    full = [b for b in released if b is not None]
    assert [[f.flow_id for f in b] for b in full] == [["f:0", "f:2", "f:4"], ["f:1", "f:3", "f:5"]]
    assert len(batches) == 1
    assert [[f.flow_id for f in b] for b in batches.drain()] == [["f:6"]]
    assert len(batches) == 0

"""The 39-column row identities: enforced on any input, unchanged on genuine rows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iotad.demo.identities import (
    DERIVED_FEATURES,
    FREE_FEATURES,
    enforce_identities,
    identity_violations,
)
from iotad.schemas.features import FEATURES_39

AT = {name: i for i, name in enumerate(FEATURES_39)}

rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 20), st.just(len(FEATURES_39))),
    elements=st.floats(-5.0, 2000.0, allow_nan=False, width=32),
)


def test_free_and_derived_features_partition_the_layout() -> None:
    assert set(FREE_FEATURES) | set(DERIVED_FEATURES) == set(FEATURES_39)
    assert not set(FREE_FEATURES) & set(DERIVED_FEATURES)
    assert len(FREE_FEATURES) == 30


@settings(max_examples=150, deadline=None)
@given(rows)
def test_enforced_rows_satisfy_every_identity_and_are_a_fixed_point(x: np.ndarray) -> None:
    out = enforce_identities(x)
    assert identity_violations(out) == dict.fromkeys(identity_violations(out), 0)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(enforce_identities(out), out, rtol=1e-12, atol=1e-9)


def test_a_broken_row_is_reported_and_repaired() -> None:
    row = np.zeros((1, len(FEATURES_39)))
    row[0, [AT["Number"], AT["TCP"], AT["UDP"], AT["ack_flag_number"]]] = [10, 0.8, 0.6, 0.9]
    row[0, [AT["Min"], AT["Max"], AT["Tot sum"], AT["Std"]]] = [60, 1514, 50, 0]
    broken = identity_violations(row)
    assert broken["transports_within_window"] == 1
    assert broken["tcp_flags_within_tcp"] == 1
    assert broken["sum_within_min_max"] == 1
    assert broken["std_zero_iff_min_equals_max"] == 1
    fixed = enforce_identities(row)
    assert sum(identity_violations(fixed).values()) == 0
    assert fixed[0, AT["TCP"]] + fixed[0, AT["UDP"]] <= 1.0
    assert fixed[0, AT["ack_count"]] == fixed[0, AT["ack_flag_number"]] * 10
    assert fixed[0, AT["AVG"]] == fixed[0, AT["Tot sum"]] / 10 == fixed[0, AT["Tot size"]]
    assert fixed[0, AT["Variance"]] == fixed[0, AT["Std"]] ** 2 > 0
    assert row[0, AT["Tot sum"]] == 50  # the input is not changed

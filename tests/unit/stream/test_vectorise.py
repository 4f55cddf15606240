"""vectorise: blocks → one float32 matrix in spec order; each row's origin."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from iotad.stream.core import FlowBlock, RowOrigin, vectorise

WIDTH = 4
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
row = st.lists(finite, min_size=WIDTH, max_size=WIDTH)


def _single(values: list[float]) -> FlowBlock:
    return FlowBlock("g", ("d",), (1,), None, None, (values,), False, None)


def _batch(rows: list[list[float]]) -> FlowBlock:
    columns = [[r[c] for r in rows] for c in range(WIDTH)]
    n = len(rows)
    return FlowBlock("g", ("d",) * n, (1,) * n, None, None, columns, True, tuple(range(n)))


blocks = st.lists(
    st.one_of(row.map(lambda r: [r]), st.lists(row, min_size=1, max_size=5)).map(
        lambda rows: (rows, len(rows) == 1)
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(blocks, st.data())
def test_property_matrix_is_the_rows_in_order(
    groups: list[tuple[list[list[float]], bool]], data: st.DataObject
) -> None:
    built = []
    expected: list[list[float]] = []
    for rows, single in groups:
        as_single = single and data.draw(st.booleans())
        built.append(_single(rows[0]) if as_single else _batch(rows))
        expected.extend(rows)
    matrix = vectorise(built, WIDTH)
    assert matrix.dtype == np.float32 and matrix.flags.c_contiguous
    assert matrix.shape == (len(expected), WIDTH)
    np.testing.assert_array_equal(matrix, np.asarray(expected, dtype=np.float32).reshape(-1, WIDTH))
    origin = RowOrigin.of(built)
    for r in range(len(expected)):
        block = built[int(origin.block[r])]
        position = int(origin.position[r])
        values = (
            [col[position] for col in block.values] if block.columnar else list(block.values[0])
        )
        assert np.float32(values).tolist() == matrix[r].tolist()


def test_values_beyond_float32_become_inf_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        matrix = vectorise([_single([1e300, 1.0, 2.0, 3.0])], WIDTH)
    assert np.isinf(matrix[0, 0])


def test_no_blocks_give_an_empty_matrix() -> None:
    assert vectorise([], WIDTH).shape == (0, WIDTH)

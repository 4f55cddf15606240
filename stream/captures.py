"""Real CICIoT2023 capture files as arrays: feature rows and labels, via replay's reader.

For tools that need rows rather than Kafka messages (benchmarks, tests that train or score a
model on real data). Rows the replay would refuse (wrong column count, non-numeric, NaN/inf,
unknown label) are skipped here as there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from iotad.errors import DataError
from iotad.schemas.features import FeatureLayout
from iotad.stream.replay.rows import RowParser
from iotad.stream.replay.sources import discover, inspect, read_rows


def read_captures(
    paths: Sequence[Path], *, rows_per_file: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.str_], FeatureLayout]:
    """The valid rows of every CSV under ``paths`` (layout order) and their canonical labels.

    Raises
    ------
    DataError
        if no CSV file is found, or the files mix the 39- and 46-feature layouts.
    """
    values: list[list[float]] = []
    labels: list[str] = []
    layouts: set[FeatureLayout] = set()
    for path in discover(list(paths)):
        capture = inspect(path)
        layouts.add(capture.layout)
        parser = RowParser(capture)
        taken = 0
        for row in read_rows(capture):
            parsed = parser.parse(row) if isinstance(row, list) else None
            if not isinstance(parsed, tuple) or parsed[1] is None:
                continue
            values.append(parsed[0])
            labels.append(parsed[1])
            taken += 1
            if rows_per_file is not None and taken >= rows_per_file:
                break
    if len(layouts) != 1:
        raise DataError(f"the files mix feature layouts: {sorted(lay.value for lay in layouts)}")
    return np.asarray(values, dtype=np.float64), np.asarray(labels), layouts.pop()


__all__ = ["read_captures"]

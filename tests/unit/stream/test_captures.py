"""read_captures: real CICIoT2023 files as arrays (skips without ../shared)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from support.worker import require_data

from iotad.errors import DataError
from iotad.schemas.features import FEATURES_39, FEATURES_46, FeatureLayout
from iotad.stream.captures import read_captures


def test_per_class_and_merged_rows() -> None:
    data = require_data()
    x, y, layout = read_captures(
        [data / "per_class/XSS", data / "ciciot2023_merged39_sample.csv.gz"], rows_per_file=25
    )
    assert layout is FeatureLayout.CIC39 and x.shape == (50, len(FEATURES_39))
    assert set(y[:25]) == {"XSS"} and "XSS" not in set(y[25:])
    assert np.isfinite(x).all()


def test_refused_rows_are_skipped_and_layouts_must_not_mix(tmp_path: Path) -> None:
    good = ",".join(["1"] * len(FEATURES_39))
    lines = [",".join(FEATURES_39), good, good.replace("1", "inf", 1), "1,2", good]
    (tmp_path / "XSS").mkdir()
    (tmp_path / "XSS" / "XSS.pcap.csv").write_text("\n".join(lines) + "\n")
    x, y, _ = read_captures([tmp_path / "XSS"])
    assert x.shape == (2, len(FEATURES_39)) and list(y) == ["XSS", "XSS"]
    header46 = ",".join([*FEATURES_46, "label"])
    row46 = ",".join(["1"] * len(FEATURES_46) + ["XSS"])
    with gzip.open(tmp_path / "part.csv.gz", "wt") as handle:
        handle.write(f"{header46}\n{row46}\n")
    with pytest.raises(DataError, match="mix feature layouts"):
        read_captures([tmp_path / "XSS", tmp_path / "part.csv.gz"])

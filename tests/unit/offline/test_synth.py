"""synth: labelled synthetic part files, the full release's class mix, statistics from real rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.offline_data import require_data

from iotad.offline.config import IngestConfig
from iotad.offline.frames import parquet_parts, read_frame
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.sources import discover_sources
from iotad.offline.stages.ingest import ingest
from iotad.offline.synth import FULL_ROWS, SynthRequest, class_counts, write_synthetic
from iotad.offline.synth_stats import (
    QUANTILE_COLUMNS,
    derive_statistics,
    load_class_rows,
    load_statistics,
)
from iotad.schemas.features import FEATURES_46, FeatureLayout
from iotad.schemas.labels import LABELS


def test_class_rows_are_the_full_release() -> None:
    rows = load_class_rows()
    assert sum(rows.values()) == FULL_ROWS
    assert rows["DictionaryBruteForce"] + rows["Backdoor_Malware"] == 16_282
    assert set(rows) == set(LABELS)


def test_class_counts_add_up_and_keep_the_mix() -> None:
    counts = class_counts(100_000)
    assert sum(counts.values()) == 100_000
    full = load_class_rows()
    assert counts["DDoS-ICMP_Flood"] == pytest.approx(
        100_000 * full["DDoS-ICMP_Flood"] / FULL_ROWS, abs=1
    )


def test_shipped_statistics_are_derived_from_the_real_rows() -> None:
    root = require_data()
    shipped = load_statistics()
    derived = derive_statistics(root)
    assert shipped[["label", "feature", "source"]].equals(derived[["label", "feature", "source"]])
    np.testing.assert_allclose(
        shipped[list(QUANTILE_COLUMNS)].to_numpy(),
        derived[list(QUANTILE_COLUMNS)].to_numpy(),
        rtol=1e-12,
    )


def test_synthetic_files_are_labelled_and_ingest_as_part_files(tmp_path: Path) -> None:
    result = write_synthetic(SynthRequest(rows=5000, out=tmp_path / "syn", files=2, seed=7))
    names = sorted(p.name for p in (tmp_path / "syn").iterdir())
    assert names == [
        "SYNTHETIC_README.md",
        "synthetic-part-00000.csv",
        "synthetic-part-00001.csv",
        "synthetic_manifest.json",
    ]
    assert "SYNTHETIC" in (tmp_path / "syn" / "SYNTHETIC_README.md").read_text()
    sources, skipped = discover_sources([tmp_path / "syn"])
    assert not skipped and all(s.layout is FeatureLayout.CIC46 for s in sources)
    with DaskExecutor(local="threads", workers=2) as executor:
        report = ingest(sources, tmp_path / "out", IngestConfig(), executor)
    assert report.rows_by_layout() == {FeatureLayout.CIC46: 5000}
    assert sum(r.malformed for r in report.files) == 0
    frame = read_frame(parquet_parts(tmp_path / "out" / "cic46"))
    assert frame["label"].value_counts().to_dict() == {
        k: v for k, v in result.class_rows.items() if v
    }
    flags = frame[["syn_flag_number", "HTTP", "TCP"]].to_numpy()
    assert ((flags >= 0) & (flags <= 1)).all()


def test_synthetic_values_follow_the_class_quantiles(tmp_path: Path) -> None:
    write_synthetic(SynthRequest(rows=40_000, out=tmp_path, files=1, seed=1))
    frame = pd.read_csv(tmp_path / "synthetic-part-00000.csv")
    stats = load_statistics().set_index(["label", "feature"])
    for label in ("DDoS-ICMP_Flood", "DDoS-UDP_Flood"):
        for feature in ("Tot sum", "Protocol Type", "IAT"):
            values = frame.loc[frame["label"] == label, feature]
            q = stats.loc[(label, feature)]
            assert q["q00"] <= values.min() and values.max() <= q["q100"]
            assert abs(values.median() - q["q50"]) <= 0.1 * (q["q100"] - q["q00"]) + 1e-9


def test_same_seed_same_files(tmp_path: Path) -> None:
    write_synthetic(SynthRequest(rows=3000, out=tmp_path / "a", files=1, seed=3))
    write_synthetic(SynthRequest(rows=3000, out=tmp_path / "b", files=1, seed=3))
    name = "synthetic-part-00000.csv"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert list(pd.read_csv(tmp_path / "a" / name, nrows=1).columns) == [*FEATURES_46, "label"]

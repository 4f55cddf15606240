"""clean: one-packet spreads filled, inf/empty rows dropped, exact duplicates removed, counted."""

from pathlib import Path

import numpy as np
import pandas as pd
from support.offline_data import MERGED, head_lines, write_csv

from iotad.offline.config import CleanConfig, IngestConfig
from iotad.offline.frames import parquet_parts, read_frame
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.sources import discover_sources
from iotad.offline.stages.clean import CleanReport, clean, first_copies
from iotad.offline.stages.ingest import ingest
from iotad.schemas.features import FEATURES_39


def _edited_rows(tmp_path: Path) -> Path:
    """Ten real MERGED rows plus: a one-packet row, an inf row, and two copies of row 1."""
    lines = head_lines(MERGED, 10)
    header = lines[0].rstrip("\n").split(",")
    one_packet = lines[1].rstrip("\n").split(",")
    one_packet[header.index("Number")] = "1"
    one_packet[header.index("Std")] = ""
    one_packet[header.index("Variance")] = ""
    infinite = lines[2].rstrip("\n").split(",")
    infinite[header.index("Rate")] = "inf"
    empty = lines[3].rstrip("\n").split(",")
    empty[header.index("IAT")] = ""
    rows = [*lines, ",".join(one_packet), ",".join(infinite), ",".join(empty), lines[1], lines[1]]
    return write_csv(tmp_path / "data" / "edited.csv", rows)


def _clean(
    tmp_path: Path, executor: DaskExecutor, cfg: CleanConfig | None = None
) -> tuple[CleanReport, pd.DataFrame]:
    _edited_rows(tmp_path)
    sources, _ = discover_sources([tmp_path / "data"])
    ingest(sources, tmp_path / "ingest", IngestConfig(), executor)
    parts = parquet_parts(tmp_path / "ingest" / "cic39")
    report = clean(parts, tmp_path / "clean", FEATURES_39, cfg or CleanConfig(), executor)
    return report, read_frame(parquet_parts(tmp_path / "clean"))


def test_counts_every_change(tmp_path: Path, executor: DaskExecutor) -> None:
    report, frame = _clean(tmp_path, executor)
    assert report.rows_in == 15
    assert report.spread_filled == {"Std": 1, "Variance": 1}
    assert report.inf_rows == {"Rate": 1}
    assert report.nan_rows == {"IAT": 1}
    assert report.dropped_null_or_inf == 2
    assert report.duplicates_removed == 2
    assert report.rows_out == len(frame) == 11
    assert sum(report.labels_out.values()) == 11
    one_packet = frame[frame["Number"] == 1]
    assert len(one_packet) == 1 and (one_packet[["Std", "Variance"]] == 0).all(axis=None)
    assert np.isfinite(frame[list(FEATURES_39)].to_numpy()).all()


def test_first_copy_survives_and_row_ids_are_contiguous(
    tmp_path: Path, executor: DaskExecutor
) -> None:
    _, frame = _clean(tmp_path, executor)
    assert frame["row_id"].tolist() == list(range(len(frame)))
    first = frame[frame["row_in_file"] == 0]
    assert len(first) == 1, "row 0 (later copied twice) keeps its first occurrence"
    assert frame.duplicated(subset=[*FEATURES_39, "label"]).sum() == 0


def test_duplicates_can_be_kept(tmp_path: Path, executor: DaskExecutor) -> None:
    report, frame = _clean(tmp_path, executor, CleanConfig(drop_duplicates=False))
    assert report.duplicates_removed == 0 and len(frame) == 13


def test_real_fixture_is_deduplicated_like_pandas(ingested: Path, cleaned: Path) -> None:
    raw = read_frame(parquet_parts(ingested))
    finite = raw[np.isfinite(raw[list(FEATURES_39)].fillna(0).to_numpy()).all(axis=1)]
    expected = finite.drop_duplicates(subset=[*FEATURES_39, "label"])
    out = read_frame(parquet_parts(cleaned))
    assert len(out) == len(expected)
    pd.testing.assert_series_equal(
        out["row_in_file"].reset_index(drop=True),
        expected["row_in_file"].reset_index(drop=True),
    )


def test_first_copies_marks_the_first_of_each_key() -> None:
    keys = [np.array([[1, 2], [3, 4]], np.uint64), np.array([[1, 2], [5, 6], [3, 4]], np.uint64)]
    assert first_copies(keys).tolist() == [True, True, False, True, False]


def test_input_parts_are_not_changed(
    ingested: Path, tmp_path: Path, executor: DaskExecutor
) -> None:
    before = {p.name: p.read_bytes() for p in parquet_parts(ingested)}
    clean(parquet_parts(ingested), tmp_path, FEATURES_39, CleanConfig(), executor)
    assert {p.name: p.read_bytes() for p in parquet_parts(ingested)} == before


def test_deterministic(
    ingested: Path, cleaned: Path, tmp_path: Path, executor: DaskExecutor
) -> None:
    clean(parquet_parts(ingested), tmp_path, FEATURES_39, CleanConfig(), executor)
    again = read_frame(parquet_parts(tmp_path))
    pd.testing.assert_frame_equal(again, read_frame(parquet_parts(cleaned)))

"""ingest: every release's layout, malformed rows counted, float32 features, canonical labels."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.offline_data import (
    CSV46,
    MERGED,
    PER_CLASS,
    head_lines,
    write_csv,
    write_fixture_tree,
)

from iotad.errors import DataError
from iotad.offline.config import IngestConfig
from iotad.offline.frames import parquet_parts, read_frame
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.sources import discover_sources
from iotad.offline.stages.ingest import IngestReport, choose_layout, ingest
from iotad.schemas.features import FEATURES_39, FEATURES_46, FeatureLayout
from iotad.schemas.labels import LABELS, canonical_label


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture_tree(tmp_path_factory.mktemp("data"), rows_per_file=200, merged_rows=300)


def _run(paths: list[Path], dest: Path, cfg: IngestConfig | None = None) -> IngestReport:
    sources, skipped = discover_sources(paths)
    with DaskExecutor(local="threads", workers=2) as executor:
        return ingest(sources, dest, cfg or IngestConfig(), executor, skipped=skipped)


def test_reads_all_three_layouts(tree: Path, tmp_path: Path) -> None:
    (tree / "notes.csv").write_text("label,rows\nXSS,3\n")
    report = _run([tree], tmp_path)
    assert [s.name for s in report.skipped] == ["notes.csv"]
    rows = report.rows_by_layout()
    assert rows[FeatureLayout.CIC46] == 100
    assert rows[FeatureLayout.CIC39] == 5 * 200 + 300
    assert choose_layout(report.rows_by_layout(), None) is FeatureLayout.CIC39
    frame39 = read_frame(parquet_parts(tmp_path / "cic39"))
    assert list(frame39.columns[: len(FEATURES_39)]) == list(FEATURES_39)
    assert all(frame39[f].dtype == np.float32 for f in FEATURES_39)
    assert set(frame39["label"]) <= set(LABELS)
    frame46 = read_frame(parquet_parts(tmp_path / "cic46"))
    assert "final_label" not in frame46.columns
    assert list(frame46.columns[: len(FEATURES_46)]) == list(FEATURES_46)


def test_labels_come_from_folder_column_and_merged_names(tree: Path, tmp_path: Path) -> None:
    report = _run([tree], tmp_path)
    by_source = {r.source: r for r in report.files}
    xss = by_source["per_class/XSS/XSS.pcap.csv.gz"]
    assert xss.label_counts == {"XSS": 200}
    merged = by_source[MERGED.name]
    expected = pd.read_csv(tree / MERGED.name)["Label"].map(canonical_label).value_counts()
    assert merged.label_counts == expected.to_dict()
    csv46 = by_source[CSV46.name]
    assert csv46.label_counts == pd.read_csv(CSV46)["label"].value_counts().to_dict()


def test_values_and_order_match_the_csv(tree: Path, tmp_path: Path) -> None:
    _run([tree / "per_class" / "XSS"], tmp_path)
    frame = read_frame(parquet_parts(tmp_path / "cic39"))
    source = pd.read_csv(tree / "per_class" / "XSS" / "XSS.pcap.csv.gz")
    np.testing.assert_array_equal(
        frame[list(FEATURES_39)].to_numpy(), source[list(FEATURES_39)].to_numpy(np.float32)
    )
    assert frame["row_in_file"].tolist() == list(range(len(source)))
    assert set(frame["source_file"]) == {"XSS.pcap.csv.gz"}


def test_inf_and_empty_values_are_kept_for_clean(tmp_path: Path) -> None:
    lines = head_lines(MERGED, 3)
    header = lines[0].rstrip("\n").split(",")
    row = lines[1].rstrip("\n").split(",")
    row[header.index("Rate")] = "inf"
    row[header.index("Std")] = ""
    write_csv(tmp_path / "in" / "m.csv", [lines[0], ",".join(row), lines[2]])
    report = _run([tmp_path / "in"], tmp_path / "out")
    frame = read_frame(parquet_parts(tmp_path / "out" / "cic39"))
    assert report.files[0].malformed == 0
    assert np.isinf(frame["Rate"].iloc[0]) and np.isnan(frame["Std"].iloc[0])


def test_malformed_rows_are_counted_and_the_rest_kept(tmp_path: Path) -> None:
    lines = head_lines(MERGED, 6)
    header = lines[0].rstrip("\n").split(",")
    bad_number = lines[2].rstrip("\n").split(",")
    bad_number[header.index("IAT")] = "n/a"
    bad_label = lines[3].rstrip("\n").split(",")
    bad_label[-1] = "NOT_A_LABEL"
    rows = [lines[0], lines[1], ",".join(bad_number), ",".join(bad_label), "1,2,3", lines[4]]
    write_csv(tmp_path / "in" / "m.csv.gz", rows)
    report = _run([tmp_path / "in"], tmp_path / "out")
    (file_report,) = report.files
    assert file_report.wrong_field_count == 1
    assert file_report.non_numeric == 1
    assert file_report.unknown_label == 1
    assert file_report.rows_written == 2
    frame = read_frame(parquet_parts(tmp_path / "out" / "cic39"))
    expected = pd.read_csv(tmp_path / "in" / "m.csv.gz", nrows=1)
    assert frame["Header_Length"].iloc[0] == np.float32(expected["Header_Length"].iloc[0])
    assert len(frame) == 2


def test_gzip_and_plain_give_the_same_rows(tmp_path: Path) -> None:
    lines = head_lines(MERGED, 50)
    write_csv(tmp_path / "a" / "m.csv", lines)
    write_csv(tmp_path / "b" / "m.csv.gz", lines)
    _run([tmp_path / "a"], tmp_path / "out_a")
    _run([tmp_path / "b"], tmp_path / "out_b")
    a = read_frame(parquet_parts(tmp_path / "out_a" / "cic39")).drop(columns="source_file")
    b = read_frame(parquet_parts(tmp_path / "out_b" / "cic39")).drop(columns="source_file")
    pd.testing.assert_frame_equal(a, b)


def test_large_files_roll_over_into_several_parts(tree: Path, tmp_path: Path) -> None:
    cfg = IngestConfig(part_rows=64, block_bytes=4096)
    report = _run([tree / "per_class" / "XSS"], tmp_path, cfg)
    assert len(report.files[0].outputs) > 1
    frame = read_frame(parquet_parts(tmp_path / "cic39"))
    assert frame["row_in_file"].tolist() == list(range(200))


def test_no_data_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="no CICIoT2023 CSV files"):
        discover_sources([tmp_path])
    with pytest.raises(DataError, match="not found"):
        discover_sources([tmp_path / "missing"])


def test_unlabelled_file_outside_a_class_folder_is_reported(tmp_path: Path) -> None:
    write_csv(tmp_path / "loose.csv", head_lines(PER_CLASS / "XSS" / "XSS.pcap.csv.gz", 3))
    with pytest.raises(DataError, match="loose.csv: no label column and cannot tell the label"):
        discover_sources([tmp_path])


def test_requested_layout_without_rows_is_refused(tree: Path, tmp_path: Path) -> None:
    report = _run([tree / "per_class" / "XSS"], tmp_path)
    with pytest.raises(DataError, match="cic46 has no rows"):
        choose_layout(report.rows_by_layout(), FeatureLayout.CIC46)

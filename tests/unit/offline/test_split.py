"""split: contiguous blocks per run (or whole files), a gap, tiny labels reported, deterministic."""

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from iotad.offline.config import SplitConfig
from iotad.offline.frames import parquet_parts, read_frame
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.stages.split import Role, assign_roles, split
from iotad.schemas.labels import LABELS


def _roles(labels: list[str], sources: list[int], cfg: SplitConfig):  # noqa: ANN202
    codes = np.asarray([LABELS.index(label) for label in labels], dtype=np.int8)
    src = np.asarray(sources, dtype=np.int32)
    order = np.zeros(len(labels), dtype=np.int64)
    for s in np.unique(src):
        order[src == s] = np.arange((src == s).sum())
    names = [f"f{i}.csv" for i in range(max(sources) + 1)]
    return assign_roles(codes, src, order, names, cfg)


def test_last_block_of_a_run_is_test_after_a_gap() -> None:
    roles, report = _roles(["XSS"] * 100, [0] * 100, SplitConfig(gap_rows=3, gap_fraction=0.1))
    assert roles[:77].tolist() == [Role.TRAIN] * 77
    assert roles[77:80].tolist() == [Role.GAP] * 3
    assert roles[80:].tolist() == [Role.TEST] * 20
    (label,) = report.labels
    assert (label.strategy, label.train, label.test, label.gap) == ("block", 77, 20, 3)


def test_tiny_labels_are_left_out_and_tiny_runs_train() -> None:
    labels = ["XSS"] * 3 + ["DNS_Spoofing"] * 40 + ["DNS_Spoofing"] * 2
    roles, report = _roles(labels, [0] * 3 + [1] * 40 + [2] * 2, SplitConfig())
    assert (roles[:3] == Role.EXCLUDED).all()
    assert (roles[-2:] == Role.TRAIN).all()
    by_label = {s.label: s for s in report.labels}
    assert by_label["XSS"].strategy == "excluded" and by_label["XSS"].excluded == 3
    assert by_label["DNS_Spoofing"].test == 8


def test_labels_with_many_files_hold_out_whole_files() -> None:
    sources = [i // 20 for i in range(200)]
    roles, report = _roles(["XSS"] * 200, sources, SplitConfig(min_files_for_file_split=5))
    (label,) = report.labels
    assert label.strategy == "file"
    per_file = pd.Series(roles).groupby(np.asarray(sources)).nunique()
    assert (per_file == 1).all(), "a file is all train or all test"
    assert 0 < label.test < 200 and len(label.test_files) == label.test // 20


@settings(max_examples=60, deadline=None)
@given(
    runs=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=6),
    fraction=st.floats(min_value=0.05, max_value=0.5),
    gap=st.integers(min_value=0, max_value=30),
)
def test_every_test_row_follows_every_train_row_of_its_run(
    runs: list[int], fraction: float, gap: int
) -> None:
    sources = [i for i, n in enumerate(runs) for _ in range(n)]
    cfg = SplitConfig(test_fraction=fraction, gap_rows=gap, min_label_rows=2, min_run_rows=2)
    roles, report = _roles(["XSS"] * len(sources), sources, cfg)
    src = np.asarray(sources)
    for s in np.unique(src):
        run = roles[src == s]
        train_at = np.flatnonzero(run == Role.TRAIN)
        test_at = np.flatnonzero(run == Role.TEST)
        if len(train_at) and len(test_at):
            assert train_at.max() < test_at.min()
            assert test_at.min() - train_at.max() - 1 == min(gap, int(len(run) * cfg.gap_fraction))
    assert report.labels[0].rows == len(sources)


def test_split_writes_disjoint_parts(cleaned: Path, tmp_path: Path, executor: DaskExecutor) -> None:
    report = split(parquet_parts(cleaned), tmp_path, SplitConfig(), executor)
    train = read_frame(parquet_parts(tmp_path / "train"))
    test = read_frame(parquet_parts(tmp_path / "test"))
    assert len(train) == report.train_rows and len(test) == report.test_rows
    assert not set(train["row_id"]) & set(test["row_id"])
    for (label, source), rows in test.groupby(["label", "source_file"]):
        earlier = train[(train["label"] == label) & (train["source_file"] == source)]
        if len(earlier):
            assert earlier["row_in_file"].max() < rows["row_in_file"].min()
    mix = test["label"].value_counts(normalize=True)
    natural = read_frame(parquet_parts(cleaned))["label"].value_counts(normalize=True)
    assert (mix - natural[mix.index]).abs().max() < 0.05, "test keeps the natural class mix"


def test_split_is_deterministic(cleaned: Path, tmp_path: Path, executor: DaskExecutor) -> None:
    split(parquet_parts(cleaned), tmp_path / "a", SplitConfig(), executor)
    split(parquet_parts(cleaned), tmp_path / "b", SplitConfig(), executor)
    for part in ("train", "test"):
        pd.testing.assert_frame_equal(
            read_frame(parquet_parts(tmp_path / "a" / part)),
            read_frame(parquet_parts(tmp_path / "b" / part)),
        )

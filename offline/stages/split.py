"""``split`` (honest protocol): hold out whole capture files or the last block of each run.

Rows of one capture are time-ordered windows whose neighbours are near-copies, so a random row
split leaks. Here every label is split on its own (so each class lands in test in proportion to
its rows, and the test part keeps the natural class mix):

* a label with at least ``min_files_for_file_split`` capture files holds out whole files (picked
  with the seed until about ``test_fraction`` of its rows are in test);
* otherwise every run (the rows of that label in one file, ordered by ``row_in_file``) gives its
  last ``test_fraction`` to test, after a gap of ``min(gap_rows, gap_fraction × run)`` rows that
  go to neither part; a run shorter than ``min_run_rows`` trains whole;
* a label with fewer than ``min_label_rows`` rows cannot be both trained on and tested: it is
  left out of both parts and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from numpy.typing import NDArray

from iotad.console import ProgressTracker
from iotad.errors import DataError
from iotad.offline.config import SplitConfig
from iotad.offline.frames import write_table
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.stages.clean import ROW_ID, label_codes
from iotad.offline.stages.ingest import LABEL, ROW_IN_FILE, SOURCE_FILE
from iotad.schemas.labels import LABELS

logger = logging.getLogger(__name__)

TRAIN_DIR = "train"
TEST_DIR = "test"


class Role(IntEnum):
    """Where a row goes."""

    TRAIN = 0
    TEST = 1
    GAP = 2
    EXCLUDED = 3


@dataclass(frozen=True)
class PartIndex:
    """The columns of one part that decide the split."""

    label_codes: NDArray[np.int8]
    sources: NDArray[np.int32]
    source_names: tuple[str, ...]
    row_in_file: NDArray[np.int64]


@dataclass(frozen=True)
class LabelSplit:
    """How one label was split."""

    label: str
    strategy: str
    rows: int
    train: int
    test: int
    gap: int
    excluded: int
    files: int
    test_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class SplitReport:
    """Every label's split."""

    labels: tuple[LabelSplit, ...]

    @property
    def train_rows(self) -> int:
        """Rows in the training part."""
        return sum(s.train for s in self.labels)

    @property
    def test_rows(self) -> int:
        """Rows in the test part."""
        return sum(s.test for s in self.labels)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary for the stage manifest."""
        return {
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "excluded_labels": [s.label for s in self.labels if s.strategy == "excluded"],
            "labels": [
                {
                    "label": s.label,
                    "strategy": s.strategy,
                    "rows": s.rows,
                    "train": s.train,
                    "test": s.test,
                    "gap": s.gap,
                    "excluded": s.excluded,
                    "files": s.files,
                    "test_files": list(s.test_files),
                }
                for s in self.labels
            ],
        }


def index_part(path: Path) -> PartIndex:
    """Read the split-deciding columns of one cleaned part."""
    table = pq.read_table(path, columns=[LABEL, SOURCE_FILE, ROW_IN_FILE, ROW_ID])
    frame = table.to_pandas()
    names, codes = np.unique(frame[SOURCE_FILE].to_numpy(dtype=object), return_inverse=True)
    row_ids = frame[ROW_ID].to_numpy(np.int64)
    if len(row_ids) and not np.array_equal(
        row_ids, np.arange(row_ids[0], row_ids[0] + len(row_ids))
    ):
        raise DataError(f"{path.name}: row_id is not contiguous; re-run clean")
    return PartIndex(
        label_codes=label_codes(frame[LABEL]),
        sources=codes.astype(np.int32),
        source_names=tuple(str(n) for n in names),
        row_in_file=frame[ROW_IN_FILE].to_numpy(np.int64),
    )


def assign_roles(
    label_code: NDArray[np.int8],
    source: NDArray[np.int32],
    row_in_file: NDArray[np.int64],
    source_names: Sequence[str],
    cfg: SplitConfig,
) -> tuple[NDArray[np.int8], SplitReport]:
    """The :class:`Role` of every row (arrays aligned by row) and the per-label report.

    A pure function of its inputs: the same rows and seed always give the same split.
    """
    roles = np.full(len(label_code), Role.EXCLUDED, dtype=np.int8)
    splits: list[LabelSplit] = []
    rng = np.random.default_rng(cfg.seed)
    for code in np.unique(label_code):
        rows = np.flatnonzero(label_code == code)
        label = LABELS[int(code)]
        files = np.unique(source[rows])
        if len(rows) < cfg.min_label_rows:
            strategy = "excluded"
            test_files: tuple[str, ...] = ()
        elif len(files) >= cfg.min_files_for_file_split:
            strategy = "file"
            test_files = _hold_out_files(rows, source, files, source_names, cfg, rng, roles)
        else:
            strategy = "block"
            test_files = ()
            for file in files:
                run = rows[source[rows] == file]
                _split_run(run[np.argsort(row_in_file[run], kind="stable")], cfg, roles)
        counts = np.bincount(roles[rows], minlength=len(Role))
        splits.append(
            LabelSplit(
                label,
                strategy,
                len(rows),
                int(counts[Role.TRAIN]),
                int(counts[Role.TEST]),
                int(counts[Role.GAP]),
                int(counts[Role.EXCLUDED]),
                len(files),
                test_files,
            )  # fmt: skip
        )
    return roles, SplitReport(tuple(splits))


def _split_run(ordered: NDArray[np.intp], cfg: SplitConfig, roles: NDArray[np.int8]) -> None:
    n = len(ordered)
    if n < cfg.min_run_rows:
        roles[ordered] = Role.TRAIN
        return
    n_test = min(n - 1, max(1, round(n * cfg.test_fraction)))
    gap = min(cfg.gap_rows, int(n * cfg.gap_fraction), n - n_test - 1)
    n_train = n - n_test - gap
    roles[ordered[:n_train]] = Role.TRAIN
    roles[ordered[n_train : n - n_test]] = Role.GAP
    roles[ordered[n - n_test :]] = Role.TEST


def _hold_out_files(
    rows: NDArray[np.intp],
    source: NDArray[np.int32],
    files: NDArray[np.int32],
    source_names: Sequence[str],
    cfg: SplitConfig,
    rng: np.random.Generator,
    roles: NDArray[np.int8],
) -> tuple[str, ...]:
    ordered = sorted(files.tolist(), key=lambda f: source_names[f])
    order = rng.permutation(len(ordered))
    per_file = {f: int((source[rows] == f).sum()) for f in ordered}
    wanted = cfg.test_fraction * len(rows)
    chosen: list[int] = []
    held = 0
    for i in order:
        if held >= wanted or len(chosen) == len(ordered) - 1:
            break
        chosen.append(ordered[i])
        held += per_file[ordered[i]]
    in_test = np.isin(source[rows], chosen)
    roles[rows[in_test]] = Role.TEST
    roles[rows[~in_test]] = Role.TRAIN
    return tuple(sorted(source_names[f] for f in chosen))


@dataclass(frozen=True)
class SplitJob:
    """Write one cleaned part's rows into the train and test directories."""

    path: Path
    roles: NDArray[np.int8]
    train_dest: Path
    test_dest: Path


def write_split_part(job: SplitJob) -> tuple[int, int]:
    """Write the part's train and test rows; return both counts."""
    table = pq.read_table(job.path)
    counts = []
    for role, dest in ((Role.TRAIN, job.train_dest), (Role.TEST, job.test_dest)):
        subset = table.filter(job.roles == role)
        write_table(subset, dest)
        counts.append(subset.num_rows)
    return counts[0], counts[1]


def split(
    parts: Sequence[Path],
    dest: Path,
    cfg: SplitConfig,
    executor: DaskExecutor,
    *,
    progress: ProgressTracker | None = None,
) -> SplitReport:
    """Split the cleaned ``parts`` into ``dest/train`` and ``dest/test`` (a staging directory).

    Raises
    ------
    DataError
        if either part would be empty.
    """
    indexes = executor.map(index_part, list(parts), progress=progress, description="split: index")
    names = sorted({n for index in indexes for n in index.source_names})
    position = {n: i for i, n in enumerate(names)}
    sources = [
        np.asarray([position[n] for n in index.source_names], dtype=np.int32)[index.sources]
        for index in indexes
    ]
    roles, report = assign_roles(
        np.concatenate([i.label_codes for i in indexes]),
        np.concatenate(sources),
        np.concatenate([i.row_in_file for i in indexes]),
        names,
        cfg,
    )
    if not report.train_rows or not report.test_rows:
        raise DataError(
            f"the holdout split leaves {report.train_rows} training and {report.test_rows} test "
            "rows",
            hint="add data, or lower split.min_label_rows",
        )
    (dest / TRAIN_DIR).mkdir(parents=True, exist_ok=True)
    (dest / TEST_DIR).mkdir(parents=True, exist_ok=True)
    jobs = []
    start = 0
    for path, index in zip(parts, indexes, strict=True):
        size = len(index.label_codes)
        jobs.append(
            SplitJob(
                Path(path),
                roles[start : start + size],
                dest / TRAIN_DIR / Path(path).name,
                dest / TEST_DIR / Path(path).name,
            )
        )
        start += size
    executor.map(write_split_part, jobs, progress=progress, description="split: write")
    logger.info("split: %d train rows, %d test rows", report.train_rows, report.test_rows)
    return report


__all__ = [
    "TEST_DIR",
    "TRAIN_DIR",
    "LabelSplit",
    "Role",
    "SplitReport",
    "assign_roles",
    "index_part",
    "split",
    "write_split_part",
]

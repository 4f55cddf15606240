"""``clean``: null/inf handling and exact-duplicate removal, out of core, with counts.

Decisions (STUDY_PROTOCOL.md, "Preprocessing"; the counts land in the stage manifest):

* ``Std``/``Variance`` empty where ``Number`` = 1 (a one-packet window has no spread) → 0.
* Any other empty value → the row is dropped (the study drops rows with nulls).
* ``inf`` in any feature (CIC's ``Rate`` = inf on one-packet windows) → the row is dropped.
* Exact duplicates over features + label → only the first (in file and row order) is kept.

Labels are already canonical (``ingest`` maps every spelling through
:mod:`iotad.schemas.labels`); here every label is checked against that table again.

Two passes over the Parquet parts, one Dask task per part: the first hashes every row (two
independent 64-bit hashes, so 128 bits: a collision among 50 M rows has odds of about 1e-23);
the driver marks the first copy of every key; the second writes the kept rows with a ``row_id``
that is unique across the dataset.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from iotad.console import ProgressTracker
from iotad.errors import DataError
from iotad.offline.config import CleanConfig
from iotad.offline.frames import write_table
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.stages.ingest import LABEL, ROW_IN_FILE, SOURCE_FILE
from iotad.schemas.labels import LABELS

logger = logging.getLogger(__name__)

ROW_ID = "row_id"
SPREAD_COLUMNS: tuple[str, ...] = ("Std", "Variance")
_HASH_KEYS = ("iotad-dedupe-k1.", "iotad-dedupe-k2.")
_KNOWN_LABELS = frozenset(LABELS)


@dataclass(frozen=True)
class PartScan:
    """What the first pass found in one Parquet part."""

    rows_in: int
    spread_filled: dict[str, int]
    nan_rows: dict[str, int]
    inf_rows: dict[str, int]
    dropped: int
    keys: NDArray[np.uint64]
    label_codes: NDArray[np.int8]


@dataclass(frozen=True)
class CleanJob:
    """One part of the input and what to do with it."""

    path: Path
    features: tuple[str, ...]
    cfg: CleanConfig
    keep: NDArray[np.bool_] | None = None
    first_row_id: int = 0
    dest: Path | None = None


@dataclass(frozen=True)
class CleanReport:
    """Counts of everything ``clean`` changed."""

    rows_in: int
    spread_filled: dict[str, int]
    nan_rows: dict[str, int]
    inf_rows: dict[str, int]
    dropped_null_or_inf: int
    duplicates_removed: int
    duplicates_by_label: dict[str, int]
    rows_out: int
    labels_out: dict[str, int]
    outputs: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary for the stage manifest."""
        return {
            "rows_in": self.rows_in,
            "spread_filled_with_zero": self.spread_filled,
            "rows_with_empty_value": self.nan_rows,
            "rows_with_inf": self.inf_rows,
            "dropped_null_or_inf": self.dropped_null_or_inf,
            "duplicates_removed": self.duplicates_removed,
            "duplicates_by_label": self.duplicates_by_label,
            "rows_out": self.rows_out,
            "labels_out": self.labels_out,
        }


def _prepare(job: CleanJob) -> tuple[pd.DataFrame, dict[str, int], dict[str, int], dict[str, int]]:
    """Read a part, fill one-packet spreads, drop rows with empty or infinite values."""
    frame = pq.read_table(job.path).to_pandas()
    unknown = sorted(set(frame[LABEL].unique()) - _KNOWN_LABELS)
    if unknown:
        raise DataError(f"{job.path.name}: labels outside the canonical table: {unknown[:5]}")
    filled: dict[str, int] = {}
    if job.cfg.zero_single_packet_spread and "Number" in frame:
        single = frame["Number"].to_numpy() == 1
        for column in SPREAD_COLUMNS:
            if column in frame:
                fix = single & frame[column].isna().to_numpy()
                filled[column] = int(fix.sum())
                frame.loc[fix, column] = np.float32(0.0)
    values = frame[list(job.features)].to_numpy(dtype=np.float32)
    nan = np.isnan(values)
    inf = np.isinf(values)
    nan_rows = {f: int(n) for f, n in zip(job.features, nan.sum(axis=0), strict=True) if n}
    inf_rows = {f: int(n) for f, n in zip(job.features, inf.sum(axis=0), strict=True) if n}
    bad = (nan | inf).any(axis=1)
    if bad.any():
        frame = frame.loc[~bad].reset_index(drop=True)
    return frame, filled, nan_rows, inf_rows


def row_keys(frame: pd.DataFrame, columns: Sequence[str]) -> NDArray[np.uint64]:
    """A 128-bit key per row (two 64-bit hashes) over ``columns``: equal rows, equal keys."""
    subset = frame[list(columns)]
    return np.column_stack(
        [
            pd.util.hash_pandas_object(subset, index=False, hash_key=key).to_numpy(np.uint64)
            for key in _HASH_KEYS
        ]
    )


def label_codes(labels: pd.Series) -> NDArray[np.int8]:
    """Position of each canonical label in :data:`iotad.schemas.labels.LABELS`."""
    return np.asarray(pd.Categorical(labels, categories=LABELS).codes, dtype=np.int8)


def _count_codes(codes: NDArray[np.int8]) -> dict[str, int]:
    counts = np.bincount(codes, minlength=len(LABELS))
    return {LABELS[i]: int(n) for i, n in enumerate(counts) if n}


def scan_part(job: CleanJob) -> PartScan:
    """First pass over one part: null/inf counts and the key of every surviving row."""
    rows_in = pq.ParquetFile(job.path).metadata.num_rows
    frame, filled, nan_rows, inf_rows = _prepare(job)
    return PartScan(
        rows_in=rows_in,
        spread_filled=filled,
        nan_rows=nan_rows,
        inf_rows=inf_rows,
        dropped=rows_in - len(frame),
        keys=row_keys(frame, (*job.features, LABEL)),
        label_codes=label_codes(frame[LABEL]),
    )


def write_part(job: CleanJob) -> int:
    """Second pass over one part: write the kept rows with their ``row_id``; return the count."""
    assert job.keep is not None and job.dest is not None
    frame, _, _, _ = _prepare(job)
    kept = frame.loc[job.keep, [*job.features, LABEL, SOURCE_FILE, ROW_IN_FILE]]
    kept = kept.reset_index(drop=True)
    kept[ROW_ID] = np.arange(job.first_row_id, job.first_row_id + len(kept), dtype=np.int64)
    table = pa.Table.from_pandas(kept, schema=clean_schema(job.features), preserve_index=False)
    write_table(table, job.dest)
    return len(kept)


def clean_schema(features: Sequence[str]) -> pa.Schema:
    """Schema of the Parquet parts ``clean`` writes."""
    return pa.schema(
        [pa.field(f, pa.float32()) for f in features]
        + [
            pa.field(LABEL, pa.string()),
            pa.field(SOURCE_FILE, pa.string()),
            pa.field(ROW_IN_FILE, pa.int64()),
            pa.field(ROW_ID, pa.int64()),
        ]
    )


def first_copies(keys: Sequence[NDArray[np.uint64]], enabled: bool = True) -> NDArray[np.bool_]:
    """True for the first row of every distinct key, in the order of ``keys`` (parts, rows)."""
    stacked = np.ascontiguousarray(np.concatenate(keys) if keys else np.empty((0, 2), np.uint64))
    keep = np.zeros(len(stacked), dtype=bool)
    if not enabled:
        keep[:] = True
        return keep
    as_bytes = stacked.view(np.dtype((np.void, 16))).ravel()
    _, first = np.unique(as_bytes, return_index=True)
    keep[first] = True
    return keep


def _merge(counters: Sequence[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for counts in counters:
        total.update(counts)
    return dict(sorted(total.items()))


def clean(
    parts: Sequence[Path],
    dest: Path,
    features: Sequence[str],
    cfg: CleanConfig,
    executor: DaskExecutor,
    *,
    progress: ProgressTracker | None = None,
) -> CleanReport:
    """Clean the Parquet ``parts`` of one layout into ``dest`` (a staging directory).

    Raises
    ------
    DataError
        if a label is not canonical, or no row survives.
    """
    dest.mkdir(parents=True, exist_ok=True)
    feature_names = tuple(features)
    jobs = [CleanJob(Path(p), feature_names, cfg) for p in parts]
    scans = executor.map(scan_part, jobs, progress=progress, description="clean: scan rows")
    keep = first_copies([s.keys for s in scans], cfg.drop_duplicates)
    codes = np.concatenate([s.label_codes for s in scans]) if scans else np.empty(0, np.int8)
    write_jobs: list[CleanJob] = []
    start = 0
    next_id = 0
    for number, (job, scan) in enumerate(zip(jobs, scans, strict=True)):
        part_keep = keep[start : start + len(scan.keys)]
        start += len(scan.keys)
        dest_file = dest / f"part-{number:05d}.parquet"
        write_jobs.append(
            CleanJob(job.path, feature_names, cfg, part_keep, next_id, dest_file),
        )
        next_id += int(part_keep.sum())
    written = executor.map(write_part, write_jobs, progress=progress, description="clean: write")
    if not sum(written):
        raise DataError("no row survives cleaning", hint="check the ingest report for these files")
    report = CleanReport(
        rows_in=sum(s.rows_in for s in scans),
        spread_filled=_merge([s.spread_filled for s in scans]),
        nan_rows=_merge([s.nan_rows for s in scans]),
        inf_rows=_merge([s.inf_rows for s in scans]),
        dropped_null_or_inf=sum(s.dropped for s in scans),
        duplicates_removed=int((~keep).sum()),
        duplicates_by_label=_count_codes(codes[~keep]),
        rows_out=int(sum(written)),
        labels_out=_count_codes(codes[keep]),
        outputs=tuple(j.dest.name for j in write_jobs if j.dest is not None),
    )
    logger.info(
        "clean: %d rows in, %d dropped (empty/inf), %d duplicates removed, %d rows out",
        report.rows_in,
        report.dropped_null_or_inf,
        report.duplicates_removed,
        report.rows_out,
    )
    return report


__all__ = [
    "ROW_ID",
    "CleanJob",
    "CleanReport",
    "PartScan",
    "clean",
    "clean_schema",
    "first_copies",
    "label_codes",
    "row_keys",
    "scan_part",
    "write_part",
]

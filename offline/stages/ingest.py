"""``ingest``: CICIoT2023 CSV files (plain or gzip) → one Parquet dataset per feature layout.

Reads all three releases: the 46-column part files (``label``; a ``final_label`` column some
copies add is ignored), the 39-column per-class tree (no label column: the label comes from the
folder or file name) and the MERGED files (upper-case ``Label``). Every output row has the
layout's features as float32 (in the layout's order), a canonical ``label``, ``source_file`` (the
file's path relative to the data root) and ``row_in_file`` (its position in the file, so later
stages can split time-ordered captures into contiguous blocks).

Each file is one task: streamed block by block with pyarrow and written as Parquet row groups, so
memory stays bounded whatever the file size. Malformed rows are counted per file and left out:
a wrong field count, a value that is not a number, an unknown label. Empty values and ``inf``
(CIC's ``Number = 1`` artefacts) are kept, as NaN and inf, for ``clean`` to handle and report.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from iotad.console import ProgressTracker
from iotad.errors import DataError, SchemaError
from iotad.offline.config import IngestConfig
from iotad.offline.frames import dictionary_columns
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.sources import SkippedFile, SourceFile
from iotad.schemas.features import IGNORED_COLUMNS, LAYOUT_FEATURES, FeatureLayout
from iotad.schemas.labels import canonical_label

logger = logging.getLogger(__name__)

LABEL = "label"
SOURCE_FILE = "source_file"
ROW_IN_FILE = "row_in_file"
_NUMBER = r"^[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)$"


@dataclass(frozen=True)
class FileReport:
    """What ingesting one file found."""

    source: str
    layout: FeatureLayout
    outputs: tuple[str, ...]
    rows_read: int
    rows_written: int
    wrong_field_count: int
    non_numeric: int
    unknown_label: int
    label_counts: dict[str, int]
    seconds: float

    @property
    def malformed(self) -> int:
        """Rows left out of this file."""
        return self.wrong_field_count + self.non_numeric + self.unknown_label


@dataclass(frozen=True)
class IngestReport:
    """Every file's report and the rows per layout."""

    files: tuple[FileReport, ...]
    skipped: tuple[SkippedFile, ...]

    def rows_by_layout(self) -> dict[FeatureLayout, int]:
        """Rows written per layout."""
        counts: Counter[FeatureLayout] = Counter()
        for report in self.files:
            counts[report.layout] += report.rows_written
        return dict(counts)

    def labels_by_layout(self) -> dict[FeatureLayout, dict[str, int]]:
        """Rows per canonical label, per layout."""
        out: dict[FeatureLayout, Counter[str]] = {}
        for report in self.files:
            out.setdefault(report.layout, Counter()).update(report.label_counts)
        return {layout: dict(sorted(counts.items())) for layout, counts in out.items()}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary for the stage manifest."""
        return {
            "rows_by_layout": {k.value: v for k, v in self.rows_by_layout().items()},
            "labels_by_layout": {k.value: v for k, v in self.labels_by_layout().items()},
            "malformed_rows": sum(r.malformed for r in self.files),
            "files": [
                {
                    "source": r.source,
                    "layout": r.layout.value,
                    "outputs": list(r.outputs),
                    "rows_read": r.rows_read,
                    "rows_written": r.rows_written,
                    "wrong_field_count": r.wrong_field_count,
                    "non_numeric": r.non_numeric,
                    "unknown_label": r.unknown_label,
                    "seconds": round(r.seconds, 3),
                }
                for r in self.files
            ],
            "skipped": [{"name": s.name, "reason": s.reason} for s in self.skipped],
        }


def output_schema(layout: FeatureLayout) -> pa.Schema:
    """Schema of every Parquet file ``ingest`` writes for ``layout``."""
    fields = [pa.field(name, pa.float32()) for name in LAYOUT_FEATURES[layout]]
    fields += [
        pa.field(LABEL, pa.string()),
        pa.field(SOURCE_FILE, pa.string()),
        pa.field(ROW_IN_FILE, pa.int64()),
    ]
    return pa.schema(fields)


@dataclass(frozen=True)
class IngestJob:
    """One file to convert, and where its Parquet parts go."""

    source: SourceFile
    dest_dir: Path
    stem: str
    cfg: IngestConfig


@dataclass
class _Counts:
    rows_read: int = 0
    rows_written: int = 0
    wrong_field_count: int = 0
    non_numeric: int = 0
    unknown_label: int = 0
    labels: Counter[str] = field(default_factory=Counter)


class _PartWriter:
    """Parquet parts of one source file, rolling to a new part every ``part_rows`` rows."""

    def __init__(self, job: IngestJob, schema: pa.Schema) -> None:
        self._job = job
        self._schema = schema
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_part = 0
        self.outputs: list[str] = []

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None or self._rows_in_part >= self._job.cfg.part_rows:
            self.close()
            name = f"{self._job.stem}-{len(self.outputs):03d}.parquet"
            compression = self._job.cfg.compression
            self._writer = pq.ParquetWriter(
                self._job.dest_dir / name,
                self._schema,
                compression=None if compression == "none" else compression,
                use_dictionary=dictionary_columns(self._schema),
            )
            self.outputs.append(name)
            self._rows_in_part = 0
        self._writer.write_table(table)
        self._rows_in_part += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def discard(self) -> None:
        self.close()
        for name in self.outputs:
            (self._job.dest_dir / name).unlink(missing_ok=True)
        self.outputs.clear()


def convert_file(job: IngestJob) -> FileReport:
    """Stream one CSV file into Parquet parts (``<stem>-NNN.parquet``) and report what it held.

    A fast pass reads the features directly as float32. If a value is not a number, the file is
    read again with every field as text, and only the rows with a non-numeric value are left out.
    """
    started = time.perf_counter()
    schema = output_schema(job.source.layout)
    try:
        counts, outputs = _convert(job, schema, mode="fast")
    except pa.ArrowInvalid as exc:
        logger.warning("%s: %s; re-reading it field by field", job.source.name, exc)
        try:
            counts, outputs = _convert(job, schema, mode="text")
        except (pa.ArrowInvalid, OSError, EOFError) as again:
            raise DataError(
                f"{job.source.name} cannot be read as CSV: {again}",
                hint="fix or remove the file and run again",
            ) from again
    except (OSError, EOFError) as exc:
        raise DataError(
            f"{job.source.name} cannot be read: {exc}", hint="fix or remove the file and run again"
        ) from exc
    return FileReport(
        source=job.source.name,
        layout=job.source.layout,
        outputs=tuple(outputs),
        rows_read=counts.rows_read,
        rows_written=counts.rows_written,
        wrong_field_count=counts.wrong_field_count,
        non_numeric=counts.non_numeric,
        unknown_label=counts.unknown_label,
        label_counts=dict(sorted(counts.labels.items())),
        seconds=time.perf_counter() - started,
    )


def _convert(
    job: IngestJob, schema: pa.Schema, mode: Literal["fast", "text"]
) -> tuple[_Counts, list[str]]:
    counts = _Counts()
    writer = _PartWriter(job, schema)
    try:
        for batch in _batches(job, mode, counts):
            writer.write(_standardise(batch, job.source, counts, mode))
    except BaseException:
        writer.discard()
        raise
    writer.close()
    return counts, writer.outputs


def _batches(job: IngestJob, mode: str, counts: _Counts) -> Iterator[pa.RecordBatch]:
    source = job.source
    features = LAYOUT_FEATURES[source.layout]
    wanted = [name for name in source.header if name not in IGNORED_COLUMNS]
    types: dict[str, pa.DataType] = {
        name: (pa.float32() if mode == "fast" and name in features else pa.string())
        for name in wanted
    }

    def on_invalid(row: object) -> str:
        counts.wrong_field_count += 1
        return "skip"

    reader = pacsv.open_csv(
        pa.input_stream(str(source.path), compression="detect"),
        read_options=pacsv.ReadOptions(
            block_size=job.cfg.block_bytes,
            use_threads=False,
            column_names=list(source.header),
            skip_rows=1,
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=types,
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    yield from reader


def _standardise(batch: pa.RecordBatch, source: SourceFile, counts: _Counts, mode: str) -> pa.Table:
    n = batch.num_rows
    first_row = counts.rows_read
    counts.rows_read += n
    columns = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
    features = LAYOUT_FEATURES[source.layout]
    keep = np.ones(n, dtype=bool)
    arrays: list[pa.Array] = []
    for name in features:
        column = columns[name]
        if mode == "text":
            column, valid = _parse_numbers(column)
            keep &= valid
        arrays.append(column)
    counts.non_numeric += int(n - keep.sum())
    labels, known = _labels(columns, source, n)
    unknown = keep & ~known
    counts.unknown_label += int(unknown.sum())
    keep &= known
    arrays.append(labels)
    arrays.append(pa.array(np.full(n, source.name, dtype=object), pa.string()))
    arrays.append(pa.array(np.arange(first_row, first_row + n, dtype=np.int64)))
    table = pa.Table.from_arrays(arrays, schema=output_schema(source.layout))
    if not keep.all():
        table = table.filter(pa.array(keep))
    counts.rows_written += table.num_rows
    counts.labels.update(_value_counts(table.column(LABEL)))
    return table


def _parse_numbers(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Text → float32; empty fields become null, anything else not a number is invalid."""
    text = pc.utf8_trim_whitespace(column)
    empty = pc.equal(text, "")
    numeric = pc.match_substring_regex(text, _NUMBER, ignore_case=True)
    valid = pc.or_(empty, numeric)
    cleaned = pc.if_else(numeric, text, pa.scalar(None, pa.string()))
    values = pc.cast(cleaned, pa.float32())
    return values, np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)


def _labels(
    columns: dict[str, pa.Array], source: SourceFile, n: int
) -> tuple[pa.Array, np.ndarray]:
    if source.label_column is None:
        assert source.path_label is not None
        return pa.array(np.full(n, source.path_label, dtype=object), pa.string()), np.ones(n, bool)
    raw = pc.utf8_trim_whitespace(columns[source.label_column].cast(pa.string()))
    distinct = pc.unique(raw).to_pylist()
    mapped: list[str | None] = []
    for value in distinct:
        try:
            mapped.append(canonical_label(value) if value else None)
        except SchemaError:
            mapped.append(None)
    labels = pc.take(pa.array(mapped, pa.string()), pc.index_in(raw, value_set=pa.array(distinct)))
    known = np.asarray(pc.is_valid(labels).to_numpy(zero_copy_only=False), dtype=bool)
    return labels, known


def _value_counts(column: pa.ChunkedArray) -> dict[str, int]:
    counts = pc.value_counts(column)
    return {
        str(v): int(c)
        for v, c in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        )
    }


def plan_jobs(sources: Sequence[SourceFile], dest: Path, cfg: IngestConfig) -> list[IngestJob]:
    """One job per file; parts go to ``dest/<layout>/part-<file number>-NNN.parquet``."""
    jobs = []
    for number, source in enumerate(sources):
        layout_dir = dest / source.layout.value
        layout_dir.mkdir(parents=True, exist_ok=True)
        jobs.append(IngestJob(source, layout_dir, f"part-{number:05d}", cfg))
    return jobs


def ingest(
    sources: Sequence[SourceFile],
    dest: Path,
    cfg: IngestConfig,
    executor: DaskExecutor,
    *,
    skipped: Sequence[SkippedFile] = (),
    progress: ProgressTracker | None = None,
) -> IngestReport:
    """Convert every source file to Parquet under ``dest`` (a staging directory the runner owns).

    Raises
    ------
    DataError
        if no file yields a single row.
    """
    jobs = plan_jobs(sources, dest, cfg)
    reports = executor.map(convert_file, jobs, progress=progress, description="ingest CSV files")
    for report in reports:
        if report.malformed:
            logger.warning(
                "%s: %d malformed rows left out (%d wrong field count, %d not numeric, "
                "%d unknown label)",
                report.source,
                report.malformed,
                report.wrong_field_count,
                report.non_numeric,
                report.unknown_label,
            )
    result = IngestReport(tuple(reports), tuple(skipped))
    if not any(r.rows_written for r in reports):
        raise DataError("the data files hold no usable rows", hint="check the files under --data")
    return result


def choose_layout(
    rows: Mapping[FeatureLayout, int], requested: FeatureLayout | None
) -> FeatureLayout:
    """The layout to train on: ``requested``, else the one with the most rows.

    Raises
    ------
    DataError
        if the requested layout has no rows.
    """
    if requested is not None:
        if not rows.get(requested):
            raise DataError(
                f"layout {requested.value} has no rows in the data "
                f"(found: {', '.join(f'{k.value}={v}' for k, v in rows.items())})",
                hint="leave out --layout, or add files of that layout to --data",
            )
        return requested
    return max(rows, key=lambda layout: (rows[layout], layout.value))


__all__ = [
    "LABEL",
    "ROW_IN_FILE",
    "SOURCE_FILE",
    "FileReport",
    "IngestJob",
    "IngestReport",
    "choose_layout",
    "convert_file",
    "ingest",
    "output_schema",
    "plan_jobs",
]

"""SYNTHETIC CICIoT2023-layout CSV for scale and memory tests — never for training or results.

Writes the 46-column part-file layout (``synthetic-part-NNNNN.csv``, features + ``label``) with
the class mix of the full release (``offline/data/cic46_class_rows.csv``) and, per class and
feature, values drawn independently from the quantiles in ``offline/data/cic46_class_stats.csv``
(derived from the real sample; see :mod:`iotad.offline.synth_stats`). Rows of every class are
spread over all files and shuffled within each, like CIC's part files. ``SYNTHETIC_README.md``
and ``synthetic_manifest.json`` in the output folder say what the files are.

Values keep ten decimals (flags and counts stay whole numbers), which makes the files about the
size of CIC's (~250 bytes a row, ~11.6 GB for the full 46.7 M rows).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from iotad.console import ProgressTracker
from iotad.offline.synth_stats import (
    QUANTILE_COLUMNS,
    QUANTILES,
    STATS_FILE,
    load_class_rows,
    load_statistics,
)
from iotad.schemas.features import FEATURES_46
from iotad.schemas.labels import LABELS

logger = logging.getLogger(__name__)

FULL_ROWS = 46_686_579
FULL_FILES = 169
ROWS_PER_FILE = math.ceil(FULL_ROWS / FULL_FILES)
_CHUNK = 200_000


@dataclass(frozen=True)
class SynthRequest:
    """How much synthetic data to write, and where."""

    rows: int
    out: Path
    files: int | None = None
    seed: int = 42


@dataclass(frozen=True)
class SynthResult:
    """What was written."""

    rows: int
    files: tuple[Path, ...]
    bytes: int
    class_rows: dict[str, int]


def class_counts(rows: int) -> dict[str, int]:
    """Rows per label for ``rows`` rows in the full release's proportions (largest remainder)."""
    full = load_class_rows()
    total = sum(full.values())
    exact = {label: rows * n / total for label, n in full.items()}
    counts = {label: int(v) for label, v in exact.items()}
    short = rows - sum(counts.values())
    for label in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[:short]:
        counts[label] += 1
    return counts


def _spread(counts: dict[str, int], files: int) -> NDArray[np.int64]:
    """Rows per (file, label): each label's rows spread evenly over the files."""
    out = np.zeros((files, len(LABELS)), dtype=np.int64)
    for j, label in enumerate(LABELS):
        base, extra = divmod(counts.get(label, 0), files)
        out[:, j] = base
        out[:extra, j] += 1
    return out


class _Sampler:
    """Draws feature values per label from the shipped quantiles (inverse CDF, linear)."""

    def __init__(self) -> None:
        table = load_statistics()
        self.quantiles = np.zeros((len(LABELS), len(FEATURES_46), len(QUANTILES)))
        label_index = {label: i for i, label in enumerate(LABELS)}
        feature_index = {f: i for i, f in enumerate(FEATURES_46)}
        values = table[list(QUANTILE_COLUMNS)].to_numpy(np.float64)
        for row, (label, feature) in enumerate(zip(table["label"], table["feature"], strict=True)):
            self.quantiles[label_index[label], feature_index[feature]] = values[row]
        self.integral = np.all(self.quantiles == np.round(self.quantiles), axis=(0, 2))

    def draw(self, label: int, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        u = rng.random((n, len(FEATURES_46)))
        out = np.empty_like(u)
        for j in range(len(FEATURES_46)):
            out[:, j] = np.interp(u[:, j], QUANTILES, self.quantiles[label, j])
        out[:, self.integral] = np.round(out[:, self.integral])
        return np.round(out, 10)


def _write_file(
    path: Path, per_label: NDArray[np.int64], sampler: _Sampler, rng: np.random.Generator
) -> int:
    codes = np.repeat(np.arange(len(LABELS)), per_label)
    rng.shuffle(codes)
    labels = np.asarray(LABELS, dtype=object)
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
    schema = pa.schema([*(pa.field(f, pa.float64()) for f in FEATURES_46), ("label", pa.string())])
    with pacsv.CSVWriter(path, schema, write_options=options) as writer:
        for start in range(0, len(codes), _CHUNK):
            chunk = codes[start : start + _CHUNK]
            values = np.empty((len(chunk), len(FEATURES_46)))
            for code in np.unique(chunk):
                mine = chunk == code
                values[mine] = sampler.draw(int(code), int(mine.sum()), rng)
            columns = [pa.array(values[:, j]) for j in range(len(FEATURES_46))]
            columns.append(pa.array(labels[chunk], pa.string()))
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    return len(codes)


def write_synthetic(request: SynthRequest, progress: ProgressTracker | None = None) -> SynthResult:
    """Write ``request.rows`` synthetic rows as CSV part files under ``request.out``."""
    files = request.files or max(1, math.ceil(request.rows / ROWS_PER_FILE))
    counts = class_counts(request.rows)
    spread = _spread(counts, files)
    request.out.mkdir(parents=True, exist_ok=True)
    sampler = _Sampler()
    task = progress.add_task("synthetic CSV files", total=files) if progress else None
    written = []
    for number in range(files):
        rng = np.random.default_rng([request.seed, number])
        path = request.out / f"synthetic-part-{number:05d}.csv"
        _write_file(path, spread[number], sampler, rng)
        written.append(path)
        if progress is not None and task is not None:
            progress.advance(task)
    size = sum(p.stat().st_size for p in written)
    _describe(request, files, counts, size)
    return SynthResult(request.rows, tuple(written), size, counts)


def _describe(request: SynthRequest, files: int, counts: dict[str, int], size: int) -> None:
    stats_sha = hashlib.sha256(STATS_FILE.read_bytes()).hexdigest()
    manifest = {
        "synthetic": True,
        "purpose": "scale and memory tests only; not CIC data, never for training or results",
        "layout": "cic46",
        "rows": request.rows,
        "files": files,
        "bytes": size,
        "seed": request.seed,
        "class_rows": counts,
        "statistics_sha256": stats_sha,
    }
    (request.out / "synthetic_manifest.json").write_text(json.dumps(manifest, indent=2))
    (request.out / "SYNTHETIC_README.md").write_text(
        "# SYNTHETIC data — not CICIoT2023\n\n"
        f"{request.rows} rows in {files} files `synthetic-part-NNNNN.csv`, written by "
        "`iotad offline synth` for scale and memory tests. Values are drawn per class and feature "
        "from quantiles of the real sample (`offline/data/cic46_class_stats.csv`), independently "
        "per feature; the class mix follows the full part-file release. Never train on these "
        "rows or report results from them as CICIoT2023 results.\n"
    )


__all__ = ["FULL_ROWS", "SynthRequest", "SynthResult", "class_counts", "write_synthetic"]

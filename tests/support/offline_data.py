"""Small real CICIoT2023 fixtures for the offline pipeline's tests, cut from ``../shared``.

The rows are CIC's own (read at test time from ``<repo>/../shared/data/ciciot2023``; nothing is
copied into the repository). :func:`write_fixture_tree` writes a miniature of the shared folder
(the first rows of a few per-class captures, of the MERGED sample and of the 46-column sample)
so that the stages see every release's layout.
"""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_ROOT = REPO_ROOT.parent / "shared" / "data" / "ciciot2023"
PER_CLASS = DATA_ROOT / "per_class"
MERGED = DATA_ROOT / "ciciot2023_merged39_sample.csv.gz"
CSV46 = DATA_ROOT / "ciciot2023_csv46_sample.csv"

#: Small whole-class captures, good for fast tests (label → rows kept per file by default).
DEFAULT_LABELS: tuple[str, ...] = (
    "Backdoor_Malware", "DDoS-ACK_Fragmentation", "Recon-PingSweep", "XSS", "Mirai-udpplain",
)  # fmt: skip


def require_data() -> Path:
    """The shared data folder, or skip the calling test saying why."""
    if not (PER_CLASS.is_dir() and MERGED.is_file() and CSV46.is_file()):
        pytest.skip(f"real CICIoT2023 rows not found at {DATA_ROOT} (../shared beside the repo)")
    return DATA_ROOT


def head_lines(path: Path, rows: int | None) -> list[str]:
    """The header and the first ``rows`` data lines of a CSV file (plain or gzip)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        lines = handle if rows is None else itertools.islice(handle, rows + 1)
        return list(lines)


def write_csv(path: Path, lines: Sequence[str]) -> Path:
    """Write CSV lines (gzip when the name ends in ``.gz``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_fixture_tree(
    dest: Path,
    *,
    labels: Sequence[str] = DEFAULT_LABELS,
    rows_per_file: int | None = 400,
    merged_rows: int | None = 600,
    csv46: bool = True,
) -> Path:
    """A miniature of the shared data folder under ``dest`` (real rows, cut short).

    Per-class captures keep their first rows (time order is kept), the MERGED sample its first
    ``merged_rows`` rows (``None``: all, or 0: none), and the 46-column sample all 100 rows.
    """
    root = require_data()
    for label in labels:
        for source in sorted((root / "per_class" / label).glob("*.csv*")):
            target = dest / "per_class" / label / source.name
            write_csv(target, head_lines(source, rows_per_file))
    if merged_rows != 0:
        write_csv(dest / MERGED.name, head_lines(MERGED, merged_rows))
    if csv46:
        write_csv(dest / CSV46.name, head_lines(CSV46, None))
    return dest


__all__ = [
    "CSV46",
    "DATA_ROOT",
    "DEFAULT_LABELS",
    "MERGED",
    "PER_CLASS",
    "head_lines",
    "require_data",
    "write_csv",
    "write_fixture_tree",
]

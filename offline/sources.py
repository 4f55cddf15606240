"""Finding CICIoT2023 CSV files under ``--data`` and telling, from each header, its layout and
where its labels come from (a ``label``/``Label`` column, or the per-class folder name).

Files that are not CICIoT2023 data (other CSV tables, unreadable files, unlabelled files outside
a class folder) are listed as skipped, with the reason.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iotad.errors import DataError, SchemaError
from iotad.schemas.features import LABEL_COLUMNS, FeatureLayout, detect_layout
from iotad.schemas.labels import label_from_path

CSV_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz")


@dataclass(frozen=True)
class SourceFile:
    """One CSV file to ingest, with what its header says about it."""

    path: Path
    name: str
    layout: FeatureLayout
    header: tuple[str, ...]
    label_column: str | None
    path_label: str | None
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SkippedFile:
    """A file under the data paths that is not CICIoT2023 data, and why."""

    name: str
    reason: str


def _is_csv(path: Path) -> bool:
    return path.name.lower().endswith(CSV_SUFFIXES)


def _read_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        line = handle.readline()
    return [name.strip().strip('"') for name in line.rstrip("\r\n").split(",")]


def describe_source(path: Path, name: str) -> SourceFile | SkippedFile:
    """Read a file's header and tell its layout and where its labels come from."""
    try:
        header = _read_header(path)
        layout = detect_layout(header)
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        return SkippedFile(name, f"unreadable: {exc}")
    except SchemaError as exc:
        return SkippedFile(name, exc.message)
    label_column = next((c for c in LABEL_COLUMNS if c in header), None)
    path_label = None
    if label_column is None:
        try:
            path_label = label_from_path(Path(name))
        except SchemaError as exc:
            return SkippedFile(name, f"no label column and {exc.message}")
    stat = path.stat()
    return SourceFile(
        path, name, layout, tuple(header), label_column, path_label, stat.st_size, stat.st_mtime_ns
    )


def discover_sources(paths: Sequence[Path]) -> tuple[list[SourceFile], list[SkippedFile]]:
    """Every CSV file under ``paths`` (files or directories, searched recursively), sorted.

    Raises
    ------
    DataError
        if a path does not exist or nothing under the paths is CICIoT2023 data.
    """
    found: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    for root in paths:
        root = Path(root)
        if not root.exists():
            raise DataError(f"data path not found: {root}", hint="check --data")
        if root.is_file():
            candidates = [(root, root.name)]
        else:
            candidates = [
                (p, p.relative_to(root).as_posix())
                for p in sorted(root.rglob("*"))
                if p.is_file() and _is_csv(p)
            ]
        for path, name in candidates:
            described = describe_source(path, name)
            (found if isinstance(described, SourceFile) else skipped).append(described)  # type: ignore[arg-type]
    if not found:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in skipped[:5])
        raise DataError(
            f"no CICIoT2023 CSV files under {[str(p) for p in paths]}"
            + (f" ({reasons})" if reasons else ""),
            hint="point --data at CSV files of the part-file, per-class or MERGED release",
        )
    return found, skipped


__all__ = ["CSV_SUFFIXES", "SkippedFile", "SourceFile", "describe_source", "discover_sources"]

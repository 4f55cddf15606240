"""Find CICIoT2023 CSV files and stream their rows (plain or gzip, never a whole file in memory)."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from iotad.errors import DataError, SchemaError
from iotad.schemas.features import LABEL_COLUMNS, detect_layout
from iotad.schemas.labels import label_from_path
from iotad.stream.replay.types import CaptureFile

logger = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_SUFFIXES = (".csv", ".csv.gz")
_STEM_SUFFIXES = (".gz", ".csv", ".pcap")
_MAX_STEM = 64

#: Errors of a damaged file that end its replay (the rows read before it stand).
FILE_ERRORS = (OSError, EOFError, zlib.error, UnicodeError)


def discover(paths: Sequence[Path]) -> list[Path]:
    """The CSV files named by ``paths``: files as given, directories searched recursively.

    Files in a directory are those ending in ``.csv`` or ``.csv.gz``, in sorted order.

    Raises
    ------
    DataError
        for a path that does not exist, or when no CSV file is found at all.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(_SUFFIXES))
            )
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(f"no such file or directory: {path}")
    if not found:
        raise DataError(
            f"no CSV files (*.csv, *.csv.gz) under {', '.join(str(p) for p in paths)}",
            hint="point replay at CICIoT2023 CSV files or folders of them",
        )
    return found


def open_text(path: Path) -> TextIO:
    """Open a CSV file for streaming, gunzipping it if it is gzip (by content, not name)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return io.TextIOWrapper(
            gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline=""
        )
    return path.open(encoding="utf-8", errors="replace", newline="")


def inspect(path: Path) -> CaptureFile:
    """Read the header of ``path`` and tell its layout and where its labels come from.

    Raises
    ------
    DataError
        when the file cannot be read or has no header.
    SchemaError
        when the header is not a CICIoT2023 layout.
    """
    try:
        with open_text(path) as text:
            header = next(csv.reader(text), None)
    except (*FILE_ERRORS, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not header:
        raise DataError(f"{path} is empty (no CSV header)")
    columns = tuple(name.strip() for name in header)
    layout = detect_layout(columns)
    label_columns = [i for i, name in enumerate(columns) if name in LABEL_COLUMNS]
    path_label: str | None = None
    if not label_columns:
        try:
            path_label = label_from_path(path)
        except SchemaError as exc:
            logger.warning("%s; its flows are sent without a label", exc.message)
    return CaptureFile(
        path=path,
        layout=layout,
        header=columns,
        label_column=label_columns[0] if label_columns else None,
        path_label=path_label,
        stem=capture_stem(path),
    )


def capture_stem(path: Path) -> str:
    """The file name without ``.csv``/``.gz``/``.pcap`` (``XSS.pcap.csv.gz`` → ``XSS``)."""
    name = path.name
    stripped = True
    while stripped:
        stripped = False
        for suffix in _STEM_SUFFIXES:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                stripped = True
    return name[:_MAX_STEM]


def read_rows(capture: CaptureFile) -> Iterator[list[str] | csv.Error]:
    """The data rows of a file, after its header, as lists of fields.

    A row the CSV parser cannot split is yielded as its :class:`csv.Error` so the caller can
    count it and go on. Errors of the file itself (truncated gzip, I/O) propagate.
    """
    with open_text(capture.path) as text:
        reader = csv.reader(text)
        next(reader, None)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield exc
                continue
            yield row


__all__ = ["FILE_ERRORS", "capture_stem", "discover", "inspect", "open_text", "read_rows"]

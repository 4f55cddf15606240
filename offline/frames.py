"""Reading and writing the pipeline's Parquet parts: lazily with Dask, or whole with pandas.

Parts are read with pyarrow and handed to Dask with ``from_map`` (one partition per part), so
every stage sees the same columns and types whichever scheduler runs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PART_GLOB = "*.parquet"


def parquet_parts(directory: Path) -> list[Path]:
    """The Parquet parts of an artifact directory, in name order."""
    return sorted(Path(directory).glob(PART_GLOB))


def read_part(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One Parquet part as a pandas DataFrame."""
    return pq.read_table(path, columns=list(columns) if columns else None).to_pandas()


def read_frame(paths: Sequence[Path], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every part, concatenated in order (for tables that fit in memory)."""
    tables = [pq.read_table(p, columns=list(columns) if columns else None) for p in paths]
    if not tables:
        raise ValueError("no Parquet parts to read")
    return pa.concat_tables(tables).to_pandas()


def lazy_frame(paths: Sequence[Path], columns: Sequence[str] | None = None) -> Any:
    """A Dask DataFrame over the parts (one partition per part); nothing is read yet."""
    dataframe = importlib.import_module("dask.dataframe")
    return dataframe.from_map(read_part, [Path(p) for p in paths], columns=columns)


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The text columns, the only ones worth dictionary-encoding (float columns are not)."""
    text = (pa.types.is_string, pa.types.is_large_string)
    return [f.name for f in schema if any(is_text(f.type) for is_text in text)]


def write_table(table: pa.Table, path: Path, compression: str | None = "snappy") -> None:
    """Write an Arrow table as one Parquet file, dictionary-encoding only its text columns."""
    pq.write_table(
        table, path, compression=compression, use_dictionary=dictionary_columns(table.schema)
    )


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as one Parquet file (no index)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def parquet_columns(path: Path) -> dict[str, str]:
    """Column name → Arrow type of a Parquet file (for manifests)."""
    schema = pq.read_schema(path)
    return {field.name: str(field.type) for field in schema}


__all__ = [
    "dictionary_columns",
    "lazy_frame",
    "parquet_columns",
    "parquet_parts",
    "read_frame",
    "read_part",
    "write_frame",
    "write_table",
]

"""``scale``: a StandardScaler (dask-ml) over the variance-filtered features.

Fitted on the training part under ``holdout`` and on every row under ``study`` (which then keeps
the scaled rows, as the study did). dask-ml 2025.1.0 works with dask 2026.8 and pandas 3: the
fit is its ``StandardScaler`` (population standard deviation; a zero scale becomes 1), computed
in float64 out of core. The scaled rows are written part by part as float32.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from iotad.offline.frames import read_part, write_table
from iotad.offline.stages.clean import ROW_ID
from iotad.offline.stages.ingest import LABEL


@dataclass(frozen=True)
class Standardisation:
    """``(x - mean) / scale`` for each named feature."""

    features: tuple[str, ...]
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]

    def apply(self, values: NDArray[np.floating]) -> NDArray[np.float64]:
        """Standardise rows whose columns are :attr:`features`."""
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.scale

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: name, mean, scale."""
        return pd.DataFrame(
            {"feature": list(self.features), "mean": self.mean, "scale": self.scale}
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Standardisation:
        """Rebuild from :meth:`to_frame`'s table."""
        return cls(
            tuple(str(f) for f in frame["feature"]),
            frame["mean"].to_numpy(np.float64),
            frame["scale"].to_numpy(np.float64),
        )

    @classmethod
    def fit_array(cls, values: NDArray[np.floating], features: Sequence[str]) -> Standardisation:
        """A StandardScaler fitted on rows in memory (zero scale → 1, like scikit-learn's)."""
        data = np.asarray(values, dtype=np.float64)
        mean = data.mean(axis=0)
        scale = data.std(axis=0)
        scale[~(scale > 0)] = 1.0
        return cls(tuple(features), mean, scale)


def fit_scaler(rows: Any, features: Sequence[str]) -> Standardisation:
    """Fit dask-ml's ``StandardScaler`` on ``rows`` (a Dask DataFrame) over ``features``."""
    preprocessing = importlib.import_module("dask_ml.preprocessing")
    scaler = preprocessing.StandardScaler().fit(rows[list(features)].astype("float64"))
    mean = np.asarray(scaler.mean_, dtype=np.float64)
    scale = np.asarray(scaler.scale_, dtype=np.float64)
    scale[~(scale > 0)] = 1.0
    return Standardisation(tuple(features), mean, scale)


@dataclass(frozen=True)
class ScaleJob:
    """Scale one part's rows into ``dest``."""

    path: Path
    dest: Path
    scaler: Standardisation


def scale_part(job: ScaleJob) -> int:
    """Write the part's scaled features (float32), label and row id; return the row count."""
    features = list(job.scaler.features)
    frame = read_part(job.path, [*features, LABEL, ROW_ID])
    scaled = job.scaler.apply(frame[features].to_numpy()).astype(np.float32)
    arrays = [pa.array(scaled[:, i]) for i in range(len(features))]
    arrays += [pa.array(frame[LABEL].to_numpy(dtype=object), pa.string())]
    arrays += [pa.array(frame[ROW_ID].to_numpy(np.int64))]
    table = pa.Table.from_arrays(arrays, names=[*features, LABEL, ROW_ID])
    write_table(table, job.dest)
    return int(table.num_rows)


__all__ = ["ScaleJob", "Standardisation", "fit_scaler", "scale_part"]

"""``variance``: keep the raw features whose variance exceeds the threshold (study: 1e-5).

Fitted on the training part under ``holdout`` and on every row under ``study``. The variance is
Dask's (``ddof=1``, as in the study's ``df.var()``), computed in float64 out of core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from iotad.errors import DataError
from iotad.offline.config import VarianceConfig


@dataclass(frozen=True)
class VarianceFilter:
    """Each raw feature's variance and which features survive, in layout order."""

    features: tuple[str, ...]
    variances: tuple[float, ...]
    threshold: float

    @property
    def kept(self) -> tuple[str, ...]:
        """Features with variance above the threshold."""
        return tuple(
            f for f, v in zip(self.features, self.variances, strict=True) if v > self.threshold
        )

    @property
    def removed(self) -> tuple[str, ...]:
        """Features at or below the threshold."""
        return tuple(f for f in self.features if f not in self.kept)

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: name, variance, kept."""
        return pd.DataFrame(
            {
                "feature": list(self.features),
                "variance": np.asarray(self.variances, dtype=np.float64),
                "kept": [f in self.kept for f in self.features],
            }
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, threshold: float) -> VarianceFilter:
        """Rebuild from :meth:`to_frame`'s table."""
        return cls(
            tuple(str(f) for f in frame["feature"]),
            tuple(float(v) for v in frame["variance"]),
            threshold,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary for the stage manifest."""
        return {"threshold": self.threshold, "kept": len(self.kept), "removed": list(self.removed)}


def fit_variance(rows: Any, features: Sequence[str], cfg: VarianceConfig) -> VarianceFilter:
    """Variance of every feature over ``rows`` (a Dask or pandas DataFrame).

    Raises
    ------
    DataError
        if no feature varies.
    """
    subset = rows[list(features)].astype("float64").var(ddof=1)
    variances = subset.compute() if hasattr(subset, "compute") else subset
    result = VarianceFilter(
        tuple(features), tuple(float(variances[f]) for f in features), cfg.threshold
    )
    if not result.kept:
        raise DataError(f"no feature has a variance above {cfg.threshold:g}")
    return result


__all__ = ["VarianceFilter", "fit_variance"]

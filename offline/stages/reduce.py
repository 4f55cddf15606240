"""``reduce``: drop one feature of every pair with |Pearson r| above the threshold (study: 0.9).

Fitted on the balanced training set of each task. Like the study's notebook, the upper triangle
of the correlation matrix is scanned column by column and a column is dropped when it is
correlated above the threshold with any earlier column, so of each pair the later feature goes
and the earlier one stays. The label is never a candidate (it is not a feature). A feature that
is constant in the balanced set has no defined correlation and is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from iotad.offline.config import ReduceConfig


@dataclass(frozen=True)
class Reduction:
    """The correlation matrix, what was dropped (and why), what was kept."""

    features: tuple[str, ...]
    correlation: NDArray[np.float64]
    kept: tuple[str, ...]
    dropped: tuple[tuple[str, str, float], ...]
    threshold: float

    def kept_correlation(self) -> NDArray[np.float64]:
        """The correlation matrix of the kept features only (for the "after" heatmap)."""
        index = [self.features.index(f) for f in self.kept]
        return self.correlation[np.ix_(index, index)]

    def to_frame(self) -> pd.DataFrame:
        """One row per dropped feature: the feature, the kept one it follows, and r."""
        return pd.DataFrame(
            {
                "dropped": [d[0] for d in self.dropped],
                "correlated_with": [d[1] for d in self.dropped],
                "r": [d[2] for d in self.dropped],
            }
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary for the stage manifest."""
        return {
            "threshold": self.threshold,
            "features_in": len(self.features),
            "kept": list(self.kept),
            "dropped": [{"feature": d, "correlated_with": w, "r": round(r, 4)}
                        for d, w, r in self.dropped],
        }  # fmt: skip


def pearson(x: NDArray[np.floating], chunk_rows: int = 100_000) -> NDArray[np.float64]:
    """Pearson correlation between columns (NaN where a column is constant).

    Sums of products are accumulated over row chunks in float64, after shifting every column by
    an estimate of its mean (which keeps the subtraction below exact enough), so memory stays at
    one chunk whatever the row count.
    """
    values = np.asarray(x)
    n, width = values.shape
    shift = values[: min(n, 10_000)].astype(np.float64).mean(axis=0)
    total = np.zeros(width)
    products = np.zeros((width, width))
    for start in range(0, n, chunk_rows):
        chunk = values[start : start + chunk_rows].astype(np.float64) - shift
        total += chunk.sum(axis=0)
        products += chunk.T @ chunk
    mean = total / n
    covariance = products / n - np.outer(mean, mean)
    spread = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = covariance / np.outer(spread, spread)
    corr[spread == 0, :] = np.nan
    corr[:, spread == 0] = np.nan
    return np.asarray(np.clip(corr, -1.0, 1.0), dtype=np.float64)


def reduce_features(
    x: NDArray[np.floating], features: Sequence[str], cfg: ReduceConfig
) -> Reduction:
    """Which of ``features`` (the columns of ``x``) survive the correlation filter."""
    names = tuple(features)
    corr = pearson(x)
    dropped: list[tuple[str, str, float]] = []
    for j in range(len(names)):
        above = np.flatnonzero(np.abs(np.nan_to_num(corr[:j, j])) > cfg.threshold)
        if len(above):
            partner = int(above[np.argmax(np.abs(corr[above, j]))])
            dropped.append((names[j], names[partner], float(corr[partner, j])))
    gone = {d[0] for d in dropped}
    kept = tuple(f for f in names if f not in gone)
    return Reduction(names, corr, kept, tuple(dropped), cfg.threshold)


__all__ = ["Reduction", "pearson", "reduce_features"]

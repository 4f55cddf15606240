"""Correlation heatmaps before and after feature reduction."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


def plot_correlation(
    corr: NDArray[np.floating], features: Sequence[str], title: str, path: Path
) -> None:
    """Write a |Pearson r| heatmap of ``features`` to ``path`` (PNG, readable at 46 features)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    n = len(features)
    size = max(4.0, 0.2 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size), dpi=80)
    try:
        image = ax.imshow(np.abs(np.nan_to_num(corr)), vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_xticks(range(n), labels=list(features), rotation=90, fontsize=6)
        ax.set_yticks(range(n), labels=list(features), fontsize=6)
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="|Pearson r|")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)


__all__ = ["plot_correlation"]

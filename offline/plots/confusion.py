"""Confusion matrices as PNG, normalised by row (each true class sums to 1, the diagonal is recall).

Readable at 34 classes: the figure grows with the class count, every tick label is a class name
(true classes with their test support), and cells carry their share when it is at least 1 %
(every cell at up to 12 classes). Drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas (no pyplot state, nothing shown) and saved as a palette PNG with Pillow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.offline.types import ModelEvaluation

SMALL = 12
MIN_ANNOTATED = 0.01


def row_normalised(confusion: NDArray[np.integer]) -> NDArray[np.float64]:
    """Each row divided by its total; rows without test rows are NaN (drawn blank)."""
    counts = np.asarray(confusion, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.full_like(counts, np.nan)
    np.divide(counts, totals, out=shares, where=totals > 0)
    return shares


def plot_confusion(evaluation: ModelEvaluation, path: Path) -> None:
    """Write ``evaluation``'s row-normalised confusion matrix to ``path`` (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    classes = list(evaluation.classes)
    n = len(classes)
    shares = row_normalised(evaluation.confusion)
    support = np.asarray(evaluation.confusion).sum(axis=1)
    side = max(4.5, 0.36 * n + 3.0)
    font = 9 if n <= SMALL else 7
    figure = Figure(figsize=(side + 1.6, side), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(shares), cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(n), labels=classes, rotation=90, fontsize=font)
    axes.set_yticks(
        range(n),
        labels=[f"{c} ({s})" for c, s in zip(classes, support, strict=True)],
        fontsize=font,
    )
    axes.set_xlabel("predicted class", fontsize=font + 1)
    axes.set_ylabel("true class (test rows)", fontsize=font + 1)
    axes.set_title(
        f"{evaluation.kind.value} · {int(evaluation.task)}-class · {evaluation.protocol} — "
        f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f}\n"
        "rows normalised: the diagonal is each class's recall",
        fontsize=font + 2,
    )
    _annotate(axes, shares, font - 1 if n <= SMALL else 6)
    figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02, label="share of the true class")
    figure.tight_layout()
    _save_palette_png(canvas, Path(path))


def _save_palette_png(canvas: Any, path: Path) -> None:
    """Render and save with a 256-colour palette (a 34-class figure: ~60 KB instead of ~200 KB)."""
    from PIL import Image

    canvas.draw()
    picture = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.convert("RGB").quantize(colors=256).save(path, format="PNG", optimize=True)


def _annotate(axes: Any, shares: NDArray[np.float64], font: float) -> None:
    small = len(shares) <= SMALL
    for (row, col), value in np.ndenumerate(shares):
        if np.isnan(value) or (not small and value < MIN_ANNOTATED):
            continue
        text = f"{value:.2f}" if small else f"{value:.2f}".lstrip("0")
        color = "white" if value > 0.6 else "black"
        axes.text(col, row, text, ha="center", va="center", fontsize=font, color=color)


__all__ = ["plot_confusion", "row_normalised"]

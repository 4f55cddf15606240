"""Turn whatever an ONNX classifier returns into one score per class, rows summing to 1."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

ScoreKind = Literal["probability", "decision_score"]


def class_scores(
    output: NDArray[np.floating], kind: ScoreKind, n_classes: int
) -> NDArray[np.float32]:
    """Per-class scores of shape ``(rows, n_classes)``.

    ``probability`` outputs pass through, except a single sigmoid column for two classes, which
    becomes ``[1 - p, p]``. ``decision_score`` outputs (margins, e.g. a Perceptron's) become
    pseudo-probabilities: softmax over classes, or a sigmoid for a single binary margin.

    Examples
    --------
    >>> class_scores(np.array([[0.25]]), "probability", 2).tolist()
    [[0.75, 0.25]]
    """
    values = np.asarray(output, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.shape[1] == 1 and n_classes == 2:
        positive = values[:, 0] if kind == "probability" else 1.0 / (1.0 + np.exp(-values[:, 0]))
        values = np.column_stack([1.0 - positive, positive])
    elif kind == "decision_score":
        shifted = values - values.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        values = exp / exp.sum(axis=1, keepdims=True)
    if values.shape[1] != n_classes:
        raise ValueError(f"model returned {values.shape[1]} score columns for {n_classes} classes")
    return np.clip(values, 0.0, 1.0).astype(np.float32)


__all__ = ["ScoreKind", "class_scores"]

"""Scores of a trained model in its native library, laid out exactly as its ONNX graph returns them.

Evaluation, export's parity check and the canary rows all score through here, and both the
native and the ONNX outputs pass through the one contract function
:func:`iotad.schemas.outputs.class_scores`, so they are compared like for like.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iotad.offline.types import ModelKind, TrainedModel
from iotad.schemas.outputs import ScoreKind, class_scores

#: Rows per Keras ``predict`` batch (inference only: large batches are fastest on CPU).
PREDICT_BATCH = 8192
#: Scored in float64, natively and in their ONNX graphs (:mod:`iotad.offline.models.onnx_graphs`).
LINEAR = frozenset({ModelKind.LR, ModelKind.PERCEPTRON})


def output_kind(kind: ModelKind) -> ScoreKind:
    """``decision_score`` for the Perceptron (no probabilities), ``probability`` otherwise."""
    return "decision_score" if kind is ModelKind.PERCEPTRON else "probability"


def native_output(model: TrainedModel, x: NDArray[np.float32]) -> NDArray[np.floating]:
    """The model's raw output for rows ``x`` (model input space), one row per input row.

    Probabilities for every model but the Perceptron, whose margins come from
    ``decision_function``; a binary Perceptron's single margin ``s`` becomes ``[-s, s]``, the two
    columns skl2onnx's graph returns. The Keras DNN returns its softmax (or one sigmoid column).
    Linear models (:data:`LINEAR`) score in float64, as their ONNX graphs do.
    """
    if model.kind is ModelKind.DNN:
        output: NDArray[np.floating] = model.estimator.predict(
            x, batch_size=PREDICT_BATCH, verbose=0
        )
        return output
    rows = x.astype(np.float64) if model.kind in LINEAR else x
    if model.kind is ModelKind.PERCEPTRON:
        margins = np.asarray(model.estimator.decision_function(rows))
        return np.column_stack([-margins, margins]) if margins.ndim == 1 else margins
    return np.asarray(model.estimator.predict_proba(rows))


def native_scores(model: TrainedModel, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Per-class scores ``(rows, len(model.classes))``, as a bundle session would report them."""
    return class_scores(native_output(model, x), output_kind(model.kind), len(model.classes))


def top_classes(classes: tuple[str, ...], scores: NDArray[np.floating]) -> NDArray[np.str_]:
    """The highest-scoring class of every row (ties go to the first class, as in ``argmax``)."""
    winners: NDArray[np.str_] = np.asarray(classes, dtype=np.str_)[np.argmax(scores, axis=1)]
    return winners


__all__ = [
    "LINEAR",
    "PREDICT_BATCH",
    "native_output",
    "native_scores",
    "output_kind",
    "top_classes",
]

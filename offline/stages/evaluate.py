"""Stage ``evaluate``: score a trained model on its task's held-out rows.

Accuracy, macro-F1 (the study's primary metric), per-class precision/recall/F1/support,
scikit-learn's classification report and the confusion matrix (counts). Predictions are the
highest of the native model's class scores (:mod:`iotad.offline.models.scoring`), the same
scores export's parity check compares against the ONNX bundle.

The classes reported are those in the test rows or predicted, in the task's fixed order; a class
the model never saw in training still counts (recall 0) when it occurs in the test rows.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.errors import DataError
from iotad.offline.models.scoring import native_scores, top_classes
from iotad.offline.types import ModelEvaluation, TaskDataset, TrainedModel
from iotad.schemas.labels import task_classes

logger = logging.getLogger(__name__)

REPORT_DIGITS = 4


def held_out_scores(model: TrainedModel, dataset: TaskDataset) -> tuple[NDArray[np.float32], float]:
    """The native model's class scores on ``dataset.x_test`` and the seconds they took."""
    started = time.perf_counter()
    scores = native_scores(model, dataset.x_test)
    return scores, time.perf_counter() - started


def evaluate(
    dataset: TaskDataset,
    model: TrainedModel,
    scored: tuple[NDArray[np.float32], float] | None = None,
) -> ModelEvaluation:
    """Evaluate ``model`` on ``dataset.x_test`` against ``dataset.y_test``.

    ``scored`` is :func:`held_out_scores`' result when the caller already has it (export compares
    the same scores with the bundle's).

    Raises
    ------
    DataError
        if the dataset has no test rows, or the model was trained for another task.
    """
    if len(dataset.y_test) == 0:
        raise DataError(f"{int(dataset.task)}-class dataset has no test rows to evaluate on")
    if model.task != dataset.task:
        raise DataError(
            f"{model.kind.value} was trained for the {int(model.task)}-class task, "
            f"not {int(dataset.task)}-class"
        )
    scores, predict_seconds = scored if scored is not None else held_out_scores(model, dataset)
    predicted = top_classes(model.classes, scores)
    evaluation = score_predictions(dataset, model, predicted, predict_seconds)
    logger.info(
        "%s %d-class (%s): accuracy %.4f, macro-F1 %.4f on %d rows",
        model.kind.value,
        int(dataset.task),
        dataset.protocol,
        evaluation.accuracy,
        evaluation.macro_f1,
        evaluation.test_rows,
    )
    return evaluation


def score_predictions(
    dataset: TaskDataset,
    model: TrainedModel,
    predicted: NDArray[np.str_],
    predict_seconds: float,
) -> ModelEvaluation:
    """The metrics of ``predicted`` against ``dataset.y_test``."""
    from sklearn.metrics import (
        classification_report,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    actual = np.asarray(dataset.y_test).astype(str)
    predicted = np.asarray(predicted).astype(str)
    labels = reported_classes(dataset, actual, predicted)
    precision, recall, f1, support = precision_recall_fscore_support(
        actual, predicted, labels=list(labels), zero_division=0
    )
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    report = classification_report(
        actual, predicted, labels=list(labels), digits=REPORT_DIGITS, zero_division=0
    )
    return ModelEvaluation(
        kind=model.kind,
        task=dataset.task,
        protocol=dataset.protocol,
        accuracy=float(np.mean(actual == predicted)),
        macro_f1=float(np.mean(f1)),
        per_class=per_class,
        confusion=confusion_matrix(actual, predicted, labels=list(labels)).astype(np.int64),
        classes=labels,
        test_rows=len(actual),
        fit_seconds=model.fit_seconds,
        predict_seconds=predict_seconds,
        report_text=str(report),
    )


def reported_classes(
    dataset: TaskDataset, actual: NDArray[np.str_], predicted: NDArray[np.str_]
) -> tuple[str, ...]:
    """Classes occurring in the test rows or the predictions, in the task's fixed order."""
    seen = set(actual.tolist()) | set(predicted.tolist())
    order = task_classes(dataset.task)
    unknown = sorted(seen - set(order))
    if unknown:
        raise DataError(f"labels outside the {int(dataset.task)}-class task: {unknown}")
    return tuple(c for c in order if c in seen)


def evaluation_to_dict(evaluation: ModelEvaluation) -> dict[str, Any]:
    """A :class:`ModelEvaluation` as plain JSON values (a bundle's ``metrics.json``)."""
    return {
        "kind": evaluation.kind.value,
        "task": int(evaluation.task),
        "protocol": evaluation.protocol,
        "accuracy": evaluation.accuracy,
        "macro_f1": evaluation.macro_f1,
        "per_class": {name: dict(values) for name, values in evaluation.per_class.items()},
        "confusion": np.asarray(evaluation.confusion).tolist(),
        "classes": list(evaluation.classes),
        "test_rows": evaluation.test_rows,
        "fit_seconds": evaluation.fit_seconds,
        "predict_seconds": evaluation.predict_seconds,
        "report_text": evaluation.report_text,
    }


__all__ = [
    "evaluate",
    "evaluation_to_dict",
    "reported_classes",
    "score_predictions",
    "held_out_scores",
]

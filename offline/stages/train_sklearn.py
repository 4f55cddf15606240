"""Stage ``train_sklearn``: fit the study's scikit-learn models on one task's training rows.

Random Forest, the compact forest (``rf-compact``), Logistic Regression, AdaBoost and the
Perceptron, with the parameters of :mod:`iotad.offline.models.estimators`. Models are fitted on
class codes in task order (:mod:`iotad.offline.models.targets`). A model that stops before it
converges (scikit-learn's ``ConvergenceWarning``, e.g. the 34-class saga run capped at 300
iterations as in the study) is kept, logged, and marked ``converged: false`` in its params.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.console import ProgressTracker
from iotad.offline.config import SklearnConfig
from iotad.offline.models.estimators import SKLEARN_KINDS, build_estimator, estimator_params
from iotad.offline.models.targets import encode, training_classes
from iotad.offline.types import ModelKind, TaskDataset, TrainedModel

logger = logging.getLogger(__name__)


def train_sklearn(
    dataset: TaskDataset,
    kinds: Sequence[ModelKind],
    cfg: SklearnConfig,
    progress: ProgressTracker | None = None,
) -> list[TrainedModel]:
    """Fit each model of ``kinds`` on ``dataset``'s training rows, in the order given.

    Parameters
    ----------
    dataset
        the task's data; models are seeded with ``dataset.seed``.
    kinds
        scikit-learn model kinds (``rf``, ``rf-compact``, ``lr``, ``ada``, ``perceptron``).
    cfg
        the study's parameters (:class:`~iotad.offline.config.SklearnConfig`).
    progress
        advanced once per model, if given.

    Raises
    ------
    ValueError
        if ``kinds`` names the DNN (train it with ``train_keras``).
    DataError
        if the training rows hold fewer than two classes.
    """
    wrong = [k.value for k in kinds if k not in SKLEARN_KINDS]
    if wrong:
        raise ValueError(f"train_sklearn trains scikit-learn models only, not {wrong}")
    classes = training_classes(dataset)
    codes = encode(dataset.y_train, classes)
    bar = None
    if progress is not None:
        bar = progress.add_task(f"train {int(dataset.task)}-class", total=len(kinds))
    trained = []
    for kind in kinds:
        if progress is not None and bar is not None:
            progress.update(bar, description=f"train {int(dataset.task)}-class {kind.value}")
        trained.append(_fit_one(dataset, kind, cfg, classes, codes))
        if progress is not None and bar is not None:
            progress.advance(bar)
    return trained


def _fit_one(
    dataset: TaskDataset,
    kind: ModelKind,
    cfg: SklearnConfig,
    classes: tuple[str, ...],
    codes: NDArray[np.int64],
) -> TrainedModel:
    estimator = build_estimator(kind, dataset.task, cfg, dataset.seed)
    started = time.perf_counter()
    converged = fit_reporting_convergence(estimator, dataset.x_train, codes, kind.value)
    seconds = time.perf_counter() - started
    logger.info(
        "trained %s on %d-class (%d rows, %d features, %d classes) in %.2f s",
        kind.value,
        int(dataset.task),
        len(codes),
        dataset.x_train.shape[1],
        len(classes),
        seconds,
    )
    params: dict[str, Any] = {
        "estimator": type(estimator).__name__,
        **estimator_params(kind, dataset.task, cfg, dataset.seed),
        "converged": converged,
    }
    return TrainedModel(kind, dataset.task, estimator, classes, seconds, params)


def fit_reporting_convergence(
    estimator: Any, x: NDArray[np.float32], y: NDArray[np.int64], name: str
) -> bool:
    """Fit ``estimator``; return False (and log why) if it warned that it did not converge.

    Other warnings raised during the fit are re-issued unchanged.
    """
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(x, y)
    converged = True
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            converged = False
            logger.warning("%s did not converge: %s", name, warning.message)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return converged


__all__ = ["fit_reporting_convergence", "train_sklearn"]

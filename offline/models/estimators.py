"""The study's scikit-learn estimators, per task (STUDY_PROTOCOL.md, "Training and evaluation").

Differences forced by scikit-learn 1.9, none of which changes the fitted model:

* ``LogisticRegression(multi_class='multinomial')`` is gone (removed in 1.7/1.8): every solver
  but liblinear now fits the multinomial model for more than two classes, so the 34-class model is
  ``LogisticRegression(solver='saga', max_iter=300, tol=1e-2)``.
* ``LogisticRegression(n_jobs=...)`` has had no effect since 1.8 (it warns); it is left unset.
* ``AdaBoostClassifier`` only implements SAMME since 1.6 (the study's scikit-learn defaulted to
  SAMME.R); ``n_estimators=100`` on decision stumps as before.

Seeds: every estimator gets ``random_state=seed`` (the dataset's seed, 42 by default). The study
set ``random_state=42`` on the Random Forest and on the 34-class AdaBoost and Perceptron and left
the others at their defaults; a fixed seed everywhere makes every run repeatable.
"""

from __future__ import annotations

from typing import Any

from iotad.offline.config import SklearnConfig
from iotad.offline.types import ModelKind
from iotad.schemas.labels import Task

#: The models :func:`build_estimator` makes (the DNN is built by :mod:`.dnn`).
SKLEARN_KINDS: frozenset[ModelKind] = frozenset(
    {ModelKind.RF, ModelKind.RF_COMPACT, ModelKind.LR, ModelKind.ADA, ModelKind.PERCEPTRON}
)


def estimator_params(kind: ModelKind, task: Task, cfg: SklearnConfig, seed: int) -> dict[str, Any]:
    """The constructor arguments of ``kind`` for ``task``: the study's, plus the seed.

    Raises
    ------
    ValueError
        for a kind that is not a scikit-learn model.
    """
    if kind is ModelKind.RF:
        return {
            "n_estimators": cfg.rf_n_estimators,
            "max_depth": None,
            "n_jobs": cfg.n_jobs,
            "random_state": seed,
        }
    if kind is ModelKind.RF_COMPACT:
        return {**cfg.rf_compact.model_dump(), "n_jobs": cfg.n_jobs, "random_state": seed}
    if kind is ModelKind.LR and task is Task.LABEL:
        return {
            "solver": "saga",
            "max_iter": cfg.lr34_max_iter,
            "tol": cfg.lr34_tol,
            "random_state": seed,
        }
    if kind is ModelKind.LR:
        return {"max_iter": cfg.lr_max_iter, "random_state": seed}
    if kind is ModelKind.ADA:
        return {"n_estimators": cfg.ada_n_estimators, "random_state": seed}
    if kind is ModelKind.PERCEPTRON:
        return {"max_iter": cfg.perceptron_max_iter, "random_state": seed}
    raise ValueError(f"{kind.value} is not a scikit-learn model")


def build_estimator(kind: ModelKind, task: Task, cfg: SklearnConfig, seed: int) -> Any:
    """An unfitted scikit-learn estimator with :func:`estimator_params`.

    Examples
    --------
    >>> build_estimator(ModelKind.LR, Task.LABEL, SklearnConfig(), 42).solver
    'saga'
    """
    from sklearn.ensemble import AdaBoostClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Perceptron

    factories: dict[ModelKind, Any] = {
        ModelKind.RF: RandomForestClassifier,
        ModelKind.RF_COMPACT: RandomForestClassifier,
        ModelKind.LR: LogisticRegression,
        ModelKind.ADA: AdaBoostClassifier,
        ModelKind.PERCEPTRON: Perceptron,
    }
    params = estimator_params(kind, task, cfg, seed)
    return factories[kind](**params)


__all__ = ["SKLEARN_KINDS", "build_estimator", "estimator_params"]

"""Interfaces between the offline stages: what the data stages hand to the model stages.

The data side (``ingest`` → ``clean`` → ``split`` → ``variance`` → ``scale`` → ``balance`` →
``reduce``) ends with one :class:`TaskDataset` per task (2, 8, 34 classes). The model side
(``train_sklearn``, ``train_keras``, ``evaluate``, ``export_onnx``) starts from it. The runner,
``offline/pipeline.py``, is the only place that calls stages, resolves paths and writes artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from iotad.schemas.features import FeatureLayout
from iotad.schemas.labels import CategoryMapName, Task
from iotad.schemas.transform import FeatureTransform

Protocol = Literal["holdout", "study"]


class ModelKind(StrEnum):
    """The models the pipeline trains (``--models``)."""

    RF = "rf"
    RF_COMPACT = "rf-compact"
    LR = "lr"
    ADA = "ada"
    PERCEPTRON = "perceptron"
    DNN = "dnn"


@dataclass(frozen=True)
class TaskDataset:
    """One task's data, ready for the model stages.

    ``x_train``/``x_test`` are in the *model input space*: scaled and masked, float32, columns
    ``feature_names``. ``raw_test`` holds the same test rows in the *raw* layout order, so that
    ``transform.apply(raw_test)`` reproduces ``x_test`` (to float32 precision); export uses it for
    the parity check and the canary rows, i.e. the exact path the stream worker runs. Under the
    study protocol some test rows are SMOTE-made; their ``raw_test`` rows are the inverse transform
    (features outside the mask set to their mean), which the transform maps back to ``x_test``.
    """

    task: Task
    protocol: Protocol
    layout: FeatureLayout
    category_map: CategoryMapName
    classes: tuple[str, ...]
    feature_names: tuple[str, ...]
    x_train: NDArray[np.float32]
    y_train: NDArray[np.str_]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.str_]
    raw_test: NDArray[np.float32]
    transform: FeatureTransform
    labels_present: Mapping[str, int]
    data_fingerprint: str
    training_manifest_sha256: str
    seed: int
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model and what it cost."""

    kind: ModelKind
    task: Task
    estimator: Any
    classes: tuple[str, ...]
    fit_seconds: float
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelEvaluation:
    """One model's scores on one task's test part."""

    kind: ModelKind
    task: Task
    protocol: Protocol
    accuracy: float
    macro_f1: float
    per_class: Mapping[str, Mapping[str, float]]
    confusion: NDArray[np.int64]
    classes: tuple[str, ...]
    test_rows: int
    fit_seconds: float
    predict_seconds: float
    report_text: str


__all__ = ["ModelEvaluation", "ModelKind", "Protocol", "TaskDataset", "TrainedModel"]

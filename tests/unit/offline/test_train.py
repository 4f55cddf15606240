"""train_sklearn and train_keras on small real fixtures and on synthetic rows."""

import dataclasses

import numpy as np
import pytest
from support.offline_data import require_data
from support.task_datasets import small_task_dataset, synthetic_task_dataset

from iotad.console import NullProgress
from iotad.errors import ConfigError, DataError
from iotad.offline.config import KerasConfig, SklearnConfig
from iotad.offline.models.scoring import native_scores
from iotad.offline.stages.train_keras import train_keras
from iotad.offline.stages.train_sklearn import train_sklearn
from iotad.offline.types import ModelKind, TaskDataset
from iotad.schemas.labels import Task

FAST = SklearnConfig(rf_n_estimators=20, ada_n_estimators=20, lr_max_iter=100, lr34_max_iter=50)
SKLEARN = [ModelKind.RF, ModelKind.RF_COMPACT, ModelKind.LR, ModelKind.ADA, ModelKind.PERCEPTRON]
TINY_KERAS = KerasConfig(epochs={2: 1, 8: 1, 34: 1}, batch_size={2: 256, 8: 256, 34: 256})


class RecordingProgress(NullProgress):
    """Counts what a trainer reports."""

    def __init__(self) -> None:
        super().__init__()
        self.advanced = 0
        self.descriptions: list[str] = []

    def advance(self, task: object, amount: float = 1.0) -> None:
        self.advanced += int(amount)

    def update(
        self, task: object, *, description: str | None = None, total: float | None = None
    ) -> None:
        if description:
            self.descriptions.append(description)


@pytest.fixture(scope="module")
def category_data() -> TaskDataset:
    require_data()
    return small_task_dataset(Task.CATEGORY)


def test_every_sklearn_model_trains_on_real_rows(category_data: TaskDataset) -> None:
    progress = RecordingProgress()
    models = train_sklearn(category_data, SKLEARN, FAST, progress)
    assert [m.kind for m in models] == SKLEARN
    assert progress.advanced == len(SKLEARN)
    assert progress.descriptions[-1].endswith("perceptron")
    for model in models:
        assert model.classes == category_data.classes
        assert model.task is Task.CATEGORY
        assert model.fit_seconds > 0
        assert isinstance(model.params["converged"], bool)
        assert model.params["random_state"] == category_data.seed
        scores = native_scores(model, category_data.x_test)
        assert scores.shape == (len(category_data.x_test), len(model.classes))
    forest = models[0]
    accuracy = np.mean(
        np.asarray(forest.classes)[native_scores(forest, category_data.x_test).argmax(1)]
        == category_data.y_test
    )
    assert accuracy > 0.5


def test_training_is_deterministic_for_a_seed(category_data: TaskDataset) -> None:
    first, second = (
        train_sklearn(category_data, [ModelKind.RF_COMPACT], FAST)[0] for _ in range(2)
    )
    assert np.array_equal(
        native_scores(first, category_data.x_test), native_scores(second, category_data.x_test)
    )
    reseeded = dataclasses.replace(category_data, seed=category_data.seed + 1)
    other = train_sklearn(reseeded, [ModelKind.RF_COMPACT], FAST)[0]
    assert not np.array_equal(
        native_scores(first, category_data.x_test), native_scores(other, category_data.x_test)
    )


def test_training_does_not_change_its_input(category_data: TaskDataset) -> None:
    before = category_data.x_train.copy(), category_data.y_train.copy()
    train_sklearn(category_data, [ModelKind.PERCEPTRON], FAST)
    assert np.array_equal(before[0], category_data.x_train)
    assert np.array_equal(before[1], category_data.y_train)


def test_separable_synthetic_rows_are_learned() -> None:
    dataset = synthetic_task_dataset(Task.LABEL, ("DDoS-SYN_Flood", "XSS", "Recon-PortScan"))
    for model in train_sklearn(dataset, [ModelKind.RF, ModelKind.LR], FAST):
        predicted = np.asarray(model.classes)[native_scores(model, dataset.x_test).argmax(1)]
        assert np.mean(predicted == dataset.y_test) > 0.85  # chance is 1/3


def test_non_convergence_is_recorded_not_raised() -> None:
    dataset = synthetic_task_dataset(Task.LABEL, ("DDoS-SYN_Flood", "XSS", "Recon-PortScan"))
    (model,) = train_sklearn(dataset, [ModelKind.LR], SklearnConfig(lr34_max_iter=1, lr34_tol=1e-9))
    assert model.params["converged"] is False
    assert model.params["solver"] == "saga"


def test_wrong_kinds_and_single_class_are_refused() -> None:
    dataset = synthetic_task_dataset(Task.BINARY, ("Attack", "Benign"))
    with pytest.raises(ValueError, match="dnn"):
        train_sklearn(dataset, [ModelKind.DNN], FAST)
    with pytest.raises(DataError, match="at least two"):
        train_sklearn(synthetic_task_dataset(Task.BINARY, ("Attack",)), [ModelKind.LR], FAST)


def test_dnn_trains_with_the_task_architecture(category_data: TaskDataset) -> None:
    model = train_keras(category_data, TINY_KERAS)
    assert model.kind is ModelKind.DNN
    assert model.classes == category_data.classes
    assert model.params["outputs"] == len(category_data.classes)
    assert model.params["hidden"] == [256, 128]
    scores = native_scores(model, category_data.x_test)
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)


def test_binary_dnn_has_one_sigmoid_output_and_34_class_validates() -> None:
    binary = train_keras(synthetic_task_dataset(Task.BINARY, ("Attack", "Benign")), TINY_KERAS)
    assert binary.params["outputs"] == 1
    assert binary.estimator.output_shape == (None, 1)
    label = synthetic_task_dataset(Task.LABEL, ("DDoS-SYN_Flood", "XSS", "Recon-PortScan"))
    split = TINY_KERAS.model_copy(update={"validation_split": {34: 0.1}})
    model = train_keras(label, split)
    assert "final_val_loss" in model.params and model.params["validation_split"] == 0.1


def test_dnn_config_must_cover_the_task() -> None:
    dataset = synthetic_task_dataset(Task.BINARY, ("Attack", "Benign"))
    with pytest.raises(ConfigError, match="2-class"):
        train_keras(dataset, KerasConfig(epochs={8: 1}, batch_size={8: 64}))

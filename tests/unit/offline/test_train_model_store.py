"""Trained models survive a save/load round trip (joblib and .keras)."""

import json
from pathlib import Path

import numpy as np
import pytest
from support.task_datasets import synthetic_task_dataset

from iotad.errors import ArtifactError
from iotad.offline.config import KerasConfig, SklearnConfig
from iotad.offline.model_store import TRAINED_FILE, load_trained, save_trained
from iotad.offline.models.scoring import native_scores
from iotad.offline.stages.train_keras import train_keras
from iotad.offline.stages.train_sklearn import train_sklearn
from iotad.offline.types import ModelKind
from iotad.schemas.labels import Task

DATASET = synthetic_task_dataset(Task.CATEGORY, ("DDoS", "Recon", "Web"))


@pytest.mark.parametrize("kind", [ModelKind.RF_COMPACT, ModelKind.PERCEPTRON])
def test_sklearn_model_round_trip(kind: ModelKind, tmp_path: Path) -> None:
    (model,) = train_sklearn(DATASET, [kind], SklearnConfig())
    save_trained(model, tmp_path / "m")
    again = load_trained(tmp_path / "m")
    assert (again.kind, again.task, again.classes) == (model.kind, model.task, model.classes)
    assert again.fit_seconds == model.fit_seconds
    assert dict(again.params) == json.loads(json.dumps(dict(model.params)))
    assert np.array_equal(
        native_scores(again, DATASET.x_test), native_scores(model, DATASET.x_test)
    )


def test_keras_model_round_trip(tmp_path: Path) -> None:
    model = train_keras(DATASET, KerasConfig(epochs={8: 1}, batch_size={8: 128}))
    save_trained(model, tmp_path / "dnn")
    assert (tmp_path / "dnn" / "model.keras").is_file()
    again = load_trained(tmp_path / "dnn")
    assert again.classes == model.classes
    assert np.allclose(
        native_scores(again, DATASET.x_test), native_scores(model, DATASET.x_test), atol=1e-6
    )


def test_unfinished_or_broken_saves_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="trained.json missing"):
        load_trained(tmp_path)
    (model,) = train_sklearn(DATASET, [ModelKind.PERCEPTRON], SklearnConfig())
    save_trained(model, tmp_path / "m")
    (tmp_path / "m" / "estimator.joblib").unlink()
    with pytest.raises(ArtifactError, match="file missing"):
        load_trained(tmp_path / "m")
    (tmp_path / "m" / TRAINED_FILE).write_text('{"kind": "nope"}')
    with pytest.raises(ArtifactError, match="invalid"):
        load_trained(tmp_path / "m")

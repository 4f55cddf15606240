"""evaluate, score_predictions and the confusion-matrix figure."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from support.offline_data import require_data
from support.task_datasets import small_task_dataset, synthetic_task_dataset

from iotad.errors import DataError
from iotad.offline.config import SklearnConfig
from iotad.offline.plots.confusion import plot_confusion, row_normalised
from iotad.offline.stages.evaluate import evaluate, evaluation_to_dict, score_predictions
from iotad.offline.stages.train_sklearn import train_sklearn
from iotad.offline.types import ModelEvaluation, ModelKind, TrainedModel
from iotad.schemas.labels import LABELS, Task

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _model(classes: tuple[str, ...], task: Task = Task.CATEGORY) -> TrainedModel:
    return TrainedModel(ModelKind.LR, task, None, classes, fit_seconds=1.5)


def test_metrics_of_known_predictions() -> None:
    dataset = synthetic_task_dataset(Task.CATEGORY, ("DDoS", "Recon"))
    dataset = dataclasses.replace(
        dataset, y_test=np.asarray(["DDoS", "DDoS", "Recon", "Recon", "Web"])
    )
    predicted = np.asarray(["DDoS", "Recon", "Recon", "Recon", "Recon"])
    result = score_predictions(dataset, _model(("DDoS", "Recon")), predicted, 0.25)
    assert result.classes == ("DDoS", "Recon", "Web")  # task order; Web is in the test rows only
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.per_class["DDoS"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
    }
    assert result.per_class["Recon"]["precision"] == pytest.approx(0.5)
    assert result.per_class["Web"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 0.0) / 3)
    assert result.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [0, 1, 0]]
    assert result.test_rows == 5 and result.fit_seconds == 1.5 and result.predict_seconds == 0.25
    assert "DDoS" in result.report_text and "macro avg" in result.report_text


def test_evaluate_matches_scikit_learn_on_real_rows() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    require_data()
    dataset = small_task_dataset(Task.CATEGORY)
    (model,) = train_sklearn(dataset, [ModelKind.RF_COMPACT], SklearnConfig())
    result = evaluate(dataset, model)
    predicted = np.asarray(model.classes)[model.estimator.predict(dataset.x_test)]
    assert result.accuracy == pytest.approx(accuracy_score(dataset.y_test, predicted))
    assert result.macro_f1 == pytest.approx(f1_score(dataset.y_test, predicted, average="macro"))
    assert result.confusion.sum() == len(dataset.y_test)
    assert result.protocol == "holdout" and result.predict_seconds > 0
    encoded = json.loads(json.dumps(evaluation_to_dict(result)))
    assert encoded["classes"] == list(result.classes) and encoded["task"] == 8


def test_evaluate_refuses_empty_tests_and_other_tasks() -> None:
    dataset = synthetic_task_dataset(Task.CATEGORY, ("DDoS", "Recon"))
    (model,) = train_sklearn(dataset, [ModelKind.PERCEPTRON], SklearnConfig())
    empty = dataclasses.replace(dataset, x_test=dataset.x_test[:0], y_test=dataset.y_test[:0])
    with pytest.raises(DataError, match="no test rows"):
        evaluate(empty, model)
    with pytest.raises(DataError, match="trained for the 2-class"):
        evaluate(dataset, dataclasses.replace(model, task=Task.BINARY))


def test_row_normalisation() -> None:
    shares = row_normalised(np.array([[3, 1], [0, 0]]))
    assert shares[0].tolist() == [0.75, 0.25]
    assert np.isnan(shares[1]).all()


@pytest.mark.parametrize("n_classes", [2, 34])
def test_confusion_png_is_readable_at_34_classes(n_classes: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    confusion = rng.integers(0, 50, size=(n_classes, n_classes)) + 200 * np.eye(
        n_classes, dtype=int
    )
    evaluation = ModelEvaluation(
        kind=ModelKind.RF,
        task=Task.LABEL,
        protocol="holdout",
        accuracy=0.5,
        macro_f1=0.4,
        per_class={},
        confusion=confusion.astype(np.int64),
        classes=LABELS[:n_classes],
        test_rows=int(confusion.sum()),
        fit_seconds=1.0,
        predict_seconds=0.1,
        report_text="",
    )
    path = tmp_path / "sub" / "confusion.png"
    plot_confusion(evaluation, path)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert height >= 35 * n_classes  # at least 35 px per class row: every name stays legible
    assert width > height
    assert len(data) < 300_000  # small enough for docs/, even with every cell filled

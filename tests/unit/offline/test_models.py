"""Model factories, class encoding, native scoring and the sparse leaf encoding."""

import numpy as np
import pytest
from pydantic import ValidationError
from support.task_datasets import synthetic_task_dataset

from iotad.errors import DataError
from iotad.offline.config import SklearnConfig
from iotad.offline.models.compact_forest import GATEWAY_FOREST, CompactForestParams
from iotad.offline.models.estimators import SKLEARN_KINDS, build_estimator, estimator_params
from iotad.offline.models.onnx_graphs import sklearn_to_onnx, sparse_leaf_weights
from iotad.offline.models.scoring import native_output, native_scores, output_kind, top_classes
from iotad.offline.models.targets import encode, training_classes
from iotad.offline.types import ModelKind, TrainedModel
from iotad.schemas.labels import Task

CFG = SklearnConfig()


def test_logistic_regression_follows_the_study_per_task() -> None:
    assert estimator_params(ModelKind.LR, Task.LABEL, CFG, 7) == {
        "solver": "saga",
        "max_iter": 300,
        "tol": 1e-2,
        "random_state": 7,
    }
    for task in (Task.BINARY, Task.CATEGORY):
        assert estimator_params(ModelKind.LR, task, CFG, 7) == {"max_iter": 1000, "random_state": 7}


def test_forest_boosting_and_perceptron_parameters() -> None:
    rf = estimator_params(ModelKind.RF, Task.LABEL, CFG, 42)
    assert rf == {"n_estimators": 100, "max_depth": None, "n_jobs": -1, "random_state": 42}
    assert estimator_params(ModelKind.ADA, Task.CATEGORY, CFG, 1)["n_estimators"] == 100
    assert estimator_params(ModelKind.PERCEPTRON, Task.BINARY, CFG, 1)["max_iter"] == 1000
    compact = estimator_params(ModelKind.RF_COMPACT, Task.LABEL, CFG, 3)
    assert compact["n_estimators"] == GATEWAY_FOREST.n_estimators
    assert compact["min_samples_leaf"] == GATEWAY_FOREST.min_samples_leaf
    assert compact["random_state"] == 3


def test_builders_make_the_named_estimators() -> None:
    names = {
        kind: type(build_estimator(kind, Task.LABEL, CFG, 0)).__name__ for kind in SKLEARN_KINDS
    }
    assert names == {
        ModelKind.RF: "RandomForestClassifier",
        ModelKind.RF_COMPACT: "RandomForestClassifier",
        ModelKind.LR: "LogisticRegression",
        ModelKind.ADA: "AdaBoostClassifier",
        ModelKind.PERCEPTRON: "Perceptron",
    }
    with pytest.raises(ValueError, match="not a scikit-learn model"):
        estimator_params(ModelKind.DNN, Task.LABEL, CFG, 0)


def test_compact_forest_params_are_validated_and_configurable() -> None:
    with pytest.raises(ValidationError):
        CompactForestParams(n_estimators=0)
    cfg = SklearnConfig(rf_compact=CompactForestParams(n_estimators=5, max_depth=4))
    assert build_estimator(ModelKind.RF_COMPACT, Task.BINARY, cfg, 0).max_depth == 4


def test_training_classes_keep_task_order_and_refuse_bad_labels() -> None:
    dataset = synthetic_task_dataset(Task.CATEGORY, ("Web", "DDoS", "Mirai"))
    assert training_classes(dataset) == ("DDoS", "Web", "Mirai")
    assert encode(np.asarray(["Mirai", "DDoS"]), ("DDoS", "Web", "Mirai")).tolist() == [2, 0]
    single = synthetic_task_dataset(Task.CATEGORY, ("DDoS",))
    with pytest.raises(DataError, match="at least two"):
        training_classes(single)


def test_binary_perceptron_output_matches_the_onnx_layout() -> None:
    from sklearn.linear_model import Perceptron

    dataset = synthetic_task_dataset(Task.BINARY, ("Attack", "Benign"))
    estimator = Perceptron(random_state=0).fit(
        dataset.x_train, encode(dataset.y_train, ("Attack", "Benign"))
    )
    model = TrainedModel(ModelKind.PERCEPTRON, Task.BINARY, estimator, ("Attack", "Benign"), 0.0)
    raw = native_output(model, dataset.x_test)
    margins = estimator.decision_function(dataset.x_test.astype(np.float64))
    assert raw.shape == (len(dataset.x_test), 2)
    assert np.array_equal(raw[:, 1], margins) and np.array_equal(raw[:, 0], -margins)
    scores = native_scores(model, dataset.x_test)
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    assert (
        top_classes(model.classes, scores)
        == np.asarray(model.classes)[estimator.predict(dataset.x_test)]
    ).all()
    assert output_kind(ModelKind.PERCEPTRON) == "decision_score"
    assert output_kind(ModelKind.RF) == "probability"


def test_top_class_ties_go_to_the_first_class() -> None:
    assert top_classes(("a", "b"), np.array([[0.5, 0.5], [0.2, 0.8]])).tolist() == ["a", "b"]


@pytest.mark.parametrize("classes", [("Attack", "Benign"), ("DDoS", "DoS", "Recon", "Web")])
def test_sparse_leaf_encoding_is_smaller_and_scores_identically(classes: tuple[str, ...]) -> None:
    import onnxruntime as ort
    from sklearn.ensemble import RandomForestClassifier

    task = Task.BINARY if len(classes) == 2 else Task.CATEGORY
    dataset = synthetic_task_dataset(task, classes, rows=800)
    forest = RandomForestClassifier(n_estimators=10, random_state=0)
    forest.fit(dataset.x_train, encode(dataset.y_train, dataset.classes))
    dense = sklearn_to_onnx(forest, dataset.x_train.shape[1], 17)
    dense_bytes = dense.SerializeToString()
    dropped = sparse_leaf_weights(dense)
    sparse_bytes = dense.SerializeToString()
    outputs = []
    for graph in (dense_bytes, sparse_bytes):
        session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
        outputs.append(session.run(["probabilities"], {"features": dataset.x_test})[0])
    assert np.array_equal(outputs[0], outputs[1])
    assert np.allclose(outputs[1], forest.predict_proba(dataset.x_test), atol=1e-6)
    if len(classes) > 2:
        assert dropped > 0 and len(sparse_bytes) < len(dense_bytes)


def test_dnn_architectures_follow_the_study() -> None:
    from iotad.offline.models.dnn import build_dnn

    binary = build_dnn(Task.BINARY, 12, 2)
    dense = [layer for layer in binary.layers if type(layer).__name__ == "Dense"]
    dropout = [layer.rate for layer in binary.layers if type(layer).__name__ == "Dropout"]
    assert [layer.units for layer in dense] == [128, 64, 1]
    assert dropout == [0.3, 0.2]
    assert binary.loss == "binary_crossentropy"
    label = build_dnn(Task.LABEL, 12, 34)
    assert [layer.units for layer in label.layers if type(layer).__name__ == "Dense"] == [
        256,
        128,
        34,
    ]
    assert [layer.rate for layer in label.layers if type(layer).__name__ == "Dropout"] == [0.3, 0.3]
    assert label.loss == "categorical_crossentropy"
    category = build_dnn(Task.CATEGORY, 12, 8)
    assert [layer.rate for layer in category.layers if type(layer).__name__ == "Dropout"] == [
        0.3,
        0.2,
    ]


@pytest.mark.parametrize("kind", [ModelKind.PERCEPTRON, ModelKind.LR])
def test_linear_graphs_match_the_native_scores_even_with_huge_margins(kind: ModelKind) -> None:
    """A Perceptron trained on wide-ranged rows has margins in the thousands; its softmax
    scores through the bundle's graph must still match the native ones far inside 1e-4."""
    import onnxruntime as ort

    from iotad.offline.models.onnx_graphs import to_onnx
    from iotad.schemas.outputs import class_scores

    classes = tuple(f"c{i}" for i in range(12))
    rng = np.random.default_rng(0)
    y = rng.integers(0, len(classes), 20_000)
    x = (rng.standard_normal((len(y), 30)) * 300 + y[:, None]).astype(np.float32)
    estimator = build_estimator(kind, Task.LABEL, CFG, 42).fit(x, y)
    model = TrainedModel(kind, Task.LABEL, estimator, classes, fit_seconds=0.0)
    graph = to_onnx(model, x.shape[1], 17)
    session = ort.InferenceSession(graph.model, providers=["CPUExecutionProvider"])
    (output,) = session.run([graph.scores_output], {graph.input_name: x})
    served = class_scores(output, graph.output_kind, len(classes))
    if kind is ModelKind.PERCEPTRON:
        assert np.abs(estimator.decision_function(x)).max() > 1000
    assert np.abs(served - native_scores(model, x)).max() <= 1e-6

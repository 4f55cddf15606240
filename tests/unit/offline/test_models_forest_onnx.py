"""The array-built forest graph reproduces scikit-learn's predict_proba."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.task_datasets import synthetic_task_dataset

from iotad.errors import ModelLoadError
from iotad.offline.models import forest_onnx
from iotad.offline.models.forest_onnx import float32_at_or_below, forest_to_onnx
from iotad.offline.models.targets import encode
from iotad.schemas.labels import Task


def _scores(forest: object, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import onnxruntime as ort

    graph = forest_to_onnx(forest, x.shape[1], 17, "features", "probabilities")
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(["label", "probabilities"], {"features": x})
    return label, probabilities


@pytest.mark.parametrize(
    ("classes", "leaf"),
    [
        (("Attack", "Benign"), 1),
        (("DDoS", "DoS", "Recon", "Web"), 1),
        (("DDoS", "DoS", "Recon"), 5),
    ],
)
def test_forest_graph_matches_predict_proba(classes: tuple[str, ...], leaf: int) -> None:
    from sklearn.ensemble import RandomForestClassifier

    task = Task.BINARY if len(classes) == 2 else Task.CATEGORY
    dataset = synthetic_task_dataset(task, classes, rows=1200)
    forest = RandomForestClassifier(n_estimators=15, min_samples_leaf=leaf, random_state=0)
    forest.fit(dataset.x_train, encode(dataset.y_train, dataset.classes))
    label, probabilities = _scores(forest, dataset.x_test)
    expected = forest.predict_proba(dataset.x_test)
    assert probabilities.shape == expected.shape
    assert np.abs(probabilities - expected).max() < 1e-6
    assert np.mean(label == expected.argmax(1)) > 0.99


def test_a_class_no_leaf_predicts_still_gets_a_column() -> None:
    from types import SimpleNamespace

    tree = SimpleNamespace(  # one split on feature 0 at 0.5: left is class 0, right class 1
        node_count=3,
        children_left=np.array([1, -1, -1]),
        children_right=np.array([2, -1, -1]),
        feature=np.array([0, -2, -2]),
        threshold=np.array([0.5, -2.0, -2.0]),
        value=np.array([[[0.5, 0.5, 0.0]], [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]]),
    )
    forest = SimpleNamespace(n_classes_=3, estimators_=[SimpleNamespace(tree_=tree)])
    x = np.array([[0.5, 9.0], [0.50001, 9.0]], dtype=np.float32)
    label, probabilities = _scores(forest, x)
    assert probabilities.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert label.tolist() == [0, 1]


@given(
    st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e30, max_value=1e30),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
def test_rounded_thresholds_split_float32_inputs_like_scikit_learn(
    threshold: float, x: float
) -> None:
    rounded = float32_at_or_below(np.array([threshold]))[0]
    assert rounded <= threshold
    value = np.float32(x)
    assert (float(value) <= threshold) == (value <= rounded)


def test_graphs_over_the_protobuf_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.ensemble import RandomForestClassifier

    dataset = synthetic_task_dataset(Task.BINARY, ("Attack", "Benign"))
    forest = RandomForestClassifier(n_estimators=2, random_state=0)
    forest.fit(dataset.x_train, encode(dataset.y_train, dataset.classes))
    monkeypatch.setattr(forest_onnx, "MAX_ONNX_BYTES", 100)
    with pytest.raises(ModelLoadError, match="2 GiB limit"):
        forest_to_onnx(forest, dataset.x_train.shape[1], 17, "features", "probabilities")


@pytest.mark.parametrize("n_classes", [2, 12, 34])
def test_size_estimate_is_within_ten_percent(n_classes: int) -> None:
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    y = rng.integers(0, n_classes, 6000)
    x = (rng.standard_normal((len(y), 10)) + y[:, None] * 0.2).astype(np.float32)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    graph = forest_to_onnx(forest, x.shape[1], 17, "features", "probabilities")
    actual = len(graph.SerializeToString())
    assert 0.9 * actual <= forest_onnx.estimated_onnx_bytes(forest) <= 1.1 * actual


def test_forests_over_the_export_cap_are_refused_before_building(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    dataset = synthetic_task_dataset(Task.BINARY, ("Attack", "Benign"))
    forest = RandomForestClassifier(n_estimators=2, random_state=0)
    forest.fit(dataset.x_train, encode(dataset.y_train, dataset.classes))
    estimate = forest_onnx.estimated_onnx_bytes(forest)

    def never(*_: object) -> None:
        raise AssertionError("the graph was built")

    monkeypatch.setattr(forest_onnx._Columns, "add_tree", never)
    with pytest.raises(ModelLoadError, match="over the export cap") as refused:
        forest_to_onnx(
            forest, dataset.x_train.shape[1], 17, "features", "probabilities",
            max_bytes=estimate - 1,
        )  # fmt: skip
    assert "rf-compact" in (refused.value.hint or "")

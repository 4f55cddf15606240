import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iotad.errors import ModelLoadError
from iotad.schemas.outputs import class_scores
from iotad.schemas.transform import FeatureTransform


def test_apply_scales_then_masks_in_model_order() -> None:
    t = FeatureTransform(
        ("a", "b", "c"), np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]), ("c", "a")
    )
    out = t.apply(np.array([[2.0, 4.0, 11.0]], dtype=np.float32))
    assert out.dtype == np.float32
    assert out.tolist() == [[2.0, 1.0]]


def test_round_trip_through_files() -> None:
    t = FeatureTransform(("a", "b"), np.array([0.5, -1.0]), np.array([2.0, 3.0]), ("b",))
    again = FeatureTransform.from_files(*t.to_files())
    rows = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    assert np.array_equal(t.apply(rows), again.apply(rows))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ModelLoadError, match="lacks"):
        FeatureTransform(("a",), np.array([0.0]), np.array([1.0]), ("z",))
    with pytest.raises(ModelLoadError, match="scale > 0"):
        FeatureTransform(("a",), np.array([0.0]), np.array([0.0]), ("a",))


def test_wrong_width_is_an_error() -> None:
    t = FeatureTransform(("a", "b"), np.zeros(2), np.ones(2), ("a",))
    with pytest.raises(ValueError, match="2 raw features"):
        t.apply(np.zeros((1, 3), dtype=np.float32))


@given(arrays(np.float64, (4, 3), elements=st.floats(-50, 50)))
def test_decision_scores_become_distributions(margins: np.ndarray) -> None:
    scores = class_scores(margins, "decision_score", 3)
    assert scores.shape == (4, 3)
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    top_two = np.sort(margins, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-3
    assert np.array_equal(scores.argmax(axis=1)[clear], margins.argmax(axis=1)[clear])


def test_single_sigmoid_column_becomes_two_classes() -> None:
    assert class_scores(np.array([[0.8]]), "probability", 2)[0].tolist() == pytest.approx(
        [0.2, 0.8]
    )
    assert class_scores(np.array([0.0]), "decision_score", 2).tolist() == [[0.5, 0.5]]


def test_column_count_must_match_classes() -> None:
    with pytest.raises(ValueError, match="3 score columns for 4 classes"):
        class_scores(np.zeros((1, 3)), "probability", 4)

"""TaskDataset building: one composed transform maps raw rows exactly to the model input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iotad.offline.config import ReduceConfig, StudySplitConfig
from iotad.offline.datasets import Provenance, compose_transform, holdout_dataset, study_dataset
from iotad.offline.stages.balance import BalancedSet
from iotad.offline.stages.reduce import reduce_features
from iotad.offline.stages.scale import Standardisation
from iotad.schemas.features import FEATURES_39, FeatureLayout
from iotad.schemas.labels import Task, target_of

PROVENANCE = Provenance({"XSS": 10}, "a" * 64, "b" * 64, 42, ("fixture",))
KEPT = FEATURES_39[:6]


def _first(raw: np.ndarray) -> Standardisation:
    return Standardisation.fit_array(raw[:, : len(KEPT)], KEPT)


@settings(max_examples=40, deadline=None)
@given(
    rows=arrays(
        np.float32, (20, 6), elements=st.floats(-1e4, 1e4, width=32, allow_subnormal=False)
    ),
    mask=st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True),
)
def test_composition_equals_two_standardisations(rows: np.ndarray, mask: list[int]) -> None:
    raw = np.zeros((20, len(FEATURES_39)))
    raw[:, :6] = rows
    first = _first(raw)
    once = first.apply(raw[:, :6])
    names = tuple(KEPT[i] for i in mask)
    second = Standardisation.fit_array(once[:, mask], names)
    expected = second.apply(once[:, mask])
    transform = compose_transform(FeatureLayout.CIC39, first, second)
    assert transform.mask == names
    got = transform.apply(raw.astype(np.float32))
    scale = np.maximum(1.0, np.abs(expected))
    assert np.all(np.abs(got - expected) / scale < 1e-3)


def _balanced(rng: np.random.Generator, task: Task) -> tuple[BalancedSet, np.ndarray, np.ndarray]:
    raw = rng.normal(50, 10, size=(400, len(FEATURES_39))).astype(np.float32)
    raw[:, 3] = raw[:, 2] * 2  # a correlated pair for reduce
    labels = np.asarray(["XSS", "SqlInjection", "Recon-PortScan", "BenignTraffic"] * 100)
    first = _first(raw)
    scaled = first.apply(raw[:, : len(KEPT)]).astype(np.float32)
    classes = np.asarray([target_of(label, task) for label in labels[:300]])
    balanced = BalancedSet(KEPT, scaled[:300], classes, np.arange(300), np.zeros(300, np.int8))
    return balanced, raw, labels


def test_holdout_dataset_maps_raw_test_rows_to_x_test() -> None:
    balanced, raw, labels = _balanced(np.random.default_rng(0), Task.CATEGORY)
    reduction = reduce_features(balanced.x, KEPT, ReduceConfig())
    first = _first(raw[:300])
    test_labels = np.concatenate([labels[300:], ["DNS_Spoofing"] * 3])
    raw_test = np.concatenate([raw[300:], raw[:3]])
    ds = holdout_dataset(
        task=Task.CATEGORY, layout=FeatureLayout.CIC39, category_map="study", balanced=balanced,
        kept=reduction.kept, first=first, raw_test=raw_test, test_labels=test_labels,
        provenance=PROVENANCE,
    )  # fmt: skip
    assert ds.classes == ("Recon", "Web", "Benign")
    assert ds.feature_names == reduction.kept and "Rate" not in ds.feature_names
    assert len(ds.x_test) == 100 and any("3 test rows" in n for n in ds.notes)
    np.testing.assert_allclose(ds.transform.apply(ds.raw_test), ds.x_test)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    assert ds.y_train.tolist()[:2] == ["Web", "Web"]


def test_study_dataset_splits_like_the_study() -> None:
    from sklearn.model_selection import train_test_split

    balanced, raw, _ = _balanced(np.random.default_rng(1), Task.LABEL)
    reduction = reduce_features(balanced.x, KEPT, ReduceConfig())
    ds = study_dataset(
        task=Task.LABEL, layout=FeatureLayout.CIC39, category_map="study", balanced=balanced,
        kept=reduction.kept, first=_first(raw[:300]), cfg=StudySplitConfig(),
        provenance=PROVENANCE,
    )  # fmt: skip
    assert len(ds.x_test) == 60 and len(ds.x_train) == 240
    _, _, _, y_test = train_test_split(
        np.arange(300), balanced.y, test_size=0.2, stratify=balanced.y, random_state=42
    )
    assert ds.y_test.tolist() == y_test.tolist()
    np.testing.assert_allclose(ds.transform.apply(ds.raw_test), ds.x_test, atol=1e-4)


def test_building_does_not_change_the_balanced_set() -> None:
    balanced, raw, labels = _balanced(np.random.default_rng(2), Task.BINARY)
    before = balanced.x.copy()
    reduction = reduce_features(balanced.x, KEPT, ReduceConfig())
    holdout_dataset(
        task=Task.BINARY, layout=FeatureLayout.CIC39, category_map="study", balanced=balanced,
        kept=reduction.kept, first=_first(raw[:300]), raw_test=raw[300:],
        test_labels=labels[300:], provenance=PROVENANCE,
    )  # fmt: skip
    np.testing.assert_array_equal(balanced.x, before)


@pytest.mark.parametrize("layout", list(FeatureLayout))
def test_features_outside_the_variance_filter_get_identity(layout: FeatureLayout) -> None:
    from iotad.schemas.features import LAYOUT_FEATURES

    names = LAYOUT_FEATURES[layout][:2]
    first = Standardisation(names, np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    second = Standardisation(names[1:], np.array([0.5]), np.array([3.0]))
    transform = compose_transform(layout, first, second)
    assert transform.mean[1] == pytest.approx(2.0 + 0.5 * 4.0)
    assert transform.scale[1] == pytest.approx(12.0)
    assert transform.mean[5] == 0.0 and transform.scale[5] == 1.0

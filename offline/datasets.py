"""The end of the data side: one :class:`~iotad.offline.types.TaskDataset` per task.

Both protocols standardise twice, like the study: once before balancing (fitted on the training
part under ``holdout``, on every row under ``study``) and once more on the balanced, reduced set.
:func:`compose_transform` folds both into one mean and scale per raw feature, and the mask is the
reduced features in model order, so ``transform.apply(raw rows)`` is exactly the model input.

* ``holdout``: ``x_train`` is the balanced training set; the test rows are the held-out raw rows
  (never resampled) mapped through the transform.
* ``study``: after the second standardisation, ``train_test_split(test_size=0.2, stratify=y,
  random_state=42)`` of the balanced set (labels encoded as the study's LabelEncoder does), so
  resampled and SMOTE rows land on both sides, as they did in the study. ``raw_test`` is the
  inverse transform of the split's test rows (features outside the mask at their mean), and
  ``x_test`` is ``transform.apply(raw_test)``: the split's rows up to float32 rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iotad.offline.config import StudySplitConfig
from iotad.offline.stages.balance import BalancedSet
from iotad.offline.stages.scale import Standardisation
from iotad.offline.types import TaskDataset
from iotad.schemas.features import LAYOUT_FEATURES, FeatureLayout
from iotad.schemas.labels import CategoryMapName, Task, target_of, task_classes
from iotad.schemas.transform import FeatureTransform


@dataclass(frozen=True)
class Provenance:
    """What a dataset records about where it came from."""

    labels_present: Mapping[str, int]
    data_fingerprint: str
    training_manifest_sha256: str
    seed: int
    notes: tuple[str, ...] = ()


def compose_transform(
    layout: FeatureLayout, first: Standardisation, second: Standardisation
) -> FeatureTransform:
    """One ``(x - mean) / scale`` per raw feature equal to ``first`` then ``second``.

    ``second.features`` (a subset of ``first.features``) is the model's mask, in order.
    Raw features outside ``first`` (removed by the variance filter) get mean 0 and scale 1;
    the model never sees them.
    """
    raw = LAYOUT_FEATURES[layout]
    mean = np.zeros(len(raw))
    scale = np.ones(len(raw))
    for i, name in enumerate(first.features):
        j = raw.index(name)
        mean[j], scale[j] = first.mean[i], first.scale[i]
    for i, name in enumerate(second.features):
        j = raw.index(name)
        mean[j] = mean[j] + second.mean[i] * scale[j]
        scale[j] = scale[j] * second.scale[i]
    return FeatureTransform(raw, mean, scale, second.features)


def _model_space(
    layout: FeatureLayout, balanced: BalancedSet, kept: Sequence[str], first: Standardisation
) -> tuple[NDArray[np.float32], FeatureTransform]:
    """The balanced rows restandardised over the kept features, and the composed transform."""
    index = [balanced.features.index(f) for f in kept]
    reduced = np.asarray(balanced.x[:, index], dtype=np.float64)
    second = Standardisation.fit_array(reduced, kept)
    return second.apply(reduced).astype(np.float32), compose_transform(layout, first, second)


def _classes(task: Task, present: Sequence[str]) -> tuple[str, ...]:
    have = set(present)
    return tuple(c for c in task_classes(task) if c in have)


def holdout_dataset(
    *,
    task: Task,
    layout: FeatureLayout,
    category_map: CategoryMapName,
    balanced: BalancedSet,
    kept: Sequence[str],
    first: Standardisation,
    raw_test: NDArray[np.float32],
    test_labels: NDArray[np.str_],
    provenance: Provenance,
) -> TaskDataset:
    """The honest dataset: train on the balanced training part, test on held-out raw rows.

    ``kept`` are the features ``reduce`` kept, in model order.

    Test rows of a class the model does not cover (left out of balancing) are dropped, with a
    note saying how many.
    """
    x_train, transform = _model_space(layout, balanced, kept, first)
    classes = _classes(task, np.unique(balanced.y).tolist())
    y_test = np.asarray([target_of(str(label), task, category_map) for label in test_labels])
    covered = np.isin(y_test, classes)
    notes = list(provenance.notes)
    if not covered.all():
        outside = sorted(set(y_test[~covered].tolist()))
        notes.append(
            f"{int((~covered).sum())} test rows of classes the model does not cover were left "
            f"out: {', '.join(outside)}"
        )
    test = np.asarray(raw_test[covered], dtype=np.float32)
    return TaskDataset(
        task=task,
        protocol="holdout",
        layout=layout,
        category_map=category_map,
        classes=classes,
        feature_names=tuple(kept),
        x_train=x_train,
        y_train=np.asarray(balanced.y).astype(str),
        x_test=transform.apply(test),
        y_test=y_test[covered].astype(str),
        raw_test=test,
        transform=transform,
        labels_present=dict(provenance.labels_present),
        data_fingerprint=provenance.data_fingerprint,
        training_manifest_sha256=provenance.training_manifest_sha256,
        seed=provenance.seed,
        notes=tuple(notes),
    )


def study_dataset(
    *,
    task: Task,
    layout: FeatureLayout,
    category_map: CategoryMapName,
    balanced: BalancedSet,
    kept: Sequence[str],
    first: Standardisation,
    cfg: StudySplitConfig,
    provenance: Provenance,
) -> TaskDataset:
    """The study's dataset: second scaling, LabelEncoder, then a stratified 80/20 row split."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelEncoder

    x, transform = _model_space(layout, balanced, kept, first)
    encoder = LabelEncoder().fit(balanced.y)
    y = encoder.transform(balanced.y)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=cfg.test_size, stratify=y, random_state=cfg.random_state
    )
    # Raw rows for the serving path; x_test is what they map to, so the model is scored on
    # exactly the input the stream worker computes (it differs from the split's rows only by
    # float32 rounding of the raw values, which could otherwise flip a tree split).
    raw_test = _inverse(transform, np.asarray(x_test, dtype=np.float64))
    return TaskDataset(
        task=task,
        protocol="study",
        layout=layout,
        category_map=category_map,
        classes=_classes(task, encoder.classes_.tolist()),
        feature_names=tuple(kept),
        x_train=np.asarray(x_train, dtype=np.float32),
        y_train=np.asarray(encoder.inverse_transform(y_train)).astype(str),
        x_test=transform.apply(raw_test),
        y_test=np.asarray(encoder.inverse_transform(y_test)).astype(str),
        raw_test=raw_test,
        transform=transform,
        labels_present=dict(provenance.labels_present),
        data_fingerprint=provenance.data_fingerprint,
        training_manifest_sha256=provenance.training_manifest_sha256,
        seed=provenance.seed,
        notes=provenance.notes,
    )


def _inverse(transform: FeatureTransform, model_input: NDArray[np.float64]) -> NDArray[np.float32]:
    """Raw rows that ``transform`` maps to ``model_input`` (unmasked features at their mean)."""
    raw = np.tile(transform.mean, (len(model_input), 1))
    index = [transform.raw_features.index(f) for f in transform.mask]
    raw[:, index] = model_input * transform.scale[index] + transform.mean[index]
    return raw.astype(np.float32)


__all__ = ["Provenance", "compose_transform", "holdout_dataset", "study_dataset"]

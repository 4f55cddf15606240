"""Small, real :class:`TaskDataset` fixtures built from the CICIoT2023 rows in ``../shared``.

Every per-class capture file (and, optionally, every label of the MERGED sample) is split in
time order: the first part of the run trains, the last part tests, so no near-copy of a test row
sits in the training set. Rows with ``inf``/empty values (CIC's ``Number = 1`` artefacts) are
dropped. The transform is fitted on the training part only: standardisation of every raw feature,
and a mask of the features whose training variance exceeds the study's 1e-5.

This module stands in for the data side's pipeline in the model-side tests and in
``bench/compact_forest.py`` (which lifts the row caps to use every row). Tests call
``support.offline_data.require_data()`` first, which skips them when ``../shared`` is absent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from iotad.offline.types import Protocol, TaskDataset
from iotad.schemas.features import FEATURES_39, FeatureLayout
from iotad.schemas.labels import CategoryMapName, Task, canonical_label, target_of, task_classes
from iotad.schemas.transform import FeatureTransform
from support.bundles import synthetic_rows
from support.offline_data import MERGED, PER_CLASS

VARIANCE_THRESHOLD = 1e-5


def data_available() -> bool:
    """True when the real per-class rows and the MERGED sample are present."""
    return PER_CLASS.is_dir() and MERGED.is_file()


@dataclass(frozen=True)
class Capture:
    """One time-ordered run of rows of one label (a capture file, or a label of the sample)."""

    label: str
    source: str
    rows: NDArray[np.float32]


def _finite(rows: NDArray[np.float64]) -> NDArray[np.float32]:
    return rows[np.isfinite(rows).all(axis=1)].astype(np.float32)


@cache
def load_captures(include_merged: bool = True) -> tuple[Capture, ...]:
    """Every per-class capture file, then each label of the MERGED sample, in file order."""
    import pandas as pd

    captures = []
    for path in sorted(PER_CLASS.glob("*/*.csv*")):
        frame = pd.read_csv(path)
        rows = frame[list(FEATURES_39)].to_numpy(dtype=np.float64)
        captures.append(Capture(canonical_label(path.parent.name), path.name, _finite(rows)))
    if include_merged:
        frame = pd.read_csv(MERGED)
        labels = frame["Label"].map(canonical_label).to_numpy()
        values = frame[list(FEATURES_39)].to_numpy(dtype=np.float64)
        for label in dict.fromkeys(labels):
            rows = _finite(values[labels == label])
            captures.append(Capture(label, MERGED.name, rows))
    return tuple(c for c in captures if len(c.rows))


def _evenly(rows: NDArray[np.float32], limit: int | None) -> NDArray[np.float32]:
    if limit is None or len(rows) <= limit:
        return rows
    return rows[np.linspace(0, len(rows) - 1, limit).round().astype(np.intp)]


def block_split(
    rows: NDArray[np.float32], test_fraction: float
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """First part of a time-ordered run for training, the last part (at least one row) testing."""
    if len(rows) < 2:
        return rows, rows[:0]
    n_test = max(1, int(len(rows) * test_fraction))
    return rows[:-n_test], rows[-n_test:]


def make_task_dataset(
    task: Task,
    *,
    train_rows_per_capture: int | None = 300,
    test_rows_per_capture: int | None = 100,
    test_fraction: float = 0.25,
    labels: Sequence[str] | None = None,
    include_merged: bool = True,
    category_map: CategoryMapName = "study",
    protocol: Protocol = "holdout",
    seed: int = 42,
) -> TaskDataset:
    """A real-data :class:`TaskDataset` with a per-capture block split (see the module doc).

    ``*_rows_per_capture`` cap each part by keeping evenly spaced rows (``None``: every row);
    ``labels`` restricts the canonical labels used.
    """
    wanted = None if labels is None else set(labels)
    captures = [c for c in load_captures(include_merged) if wanted is None or c.label in wanted]
    train_parts, test_parts, train_labels, test_labels = [], [], [], []
    for capture in captures:
        train, test = block_split(capture.rows, test_fraction)
        train = _evenly(train, train_rows_per_capture)
        test = _evenly(test, test_rows_per_capture)
        train_parts.append(train)
        test_parts.append(test)
        train_labels += [capture.label] * len(train)
        test_labels += [capture.label] * len(test)
    raw_train = np.concatenate(train_parts)
    raw_test = np.concatenate(test_parts)
    variance = raw_train.astype(np.float64).var(axis=0)
    mask = tuple(f for f, v in zip(FEATURES_39, variance, strict=True) if v > VARIANCE_THRESHOLD)
    transform = FeatureTransform.fit(raw_train, FEATURES_39, mask)
    y_train = np.asarray([target_of(label, task, category_map) for label in train_labels])
    y_test = np.asarray([target_of(label, task, category_map) for label in test_labels])
    present = set(y_train.tolist())
    recipe = {
        "captures": [(c.label, c.source, len(c.rows)) for c in captures],
        "caps": [train_rows_per_capture, test_rows_per_capture, test_fraction],
        "task": int(task),
    }
    fingerprint = hashlib.sha256(raw_train.tobytes() + raw_test.tobytes()).hexdigest()
    return TaskDataset(
        task=task,
        protocol=protocol,
        layout=FeatureLayout.CIC39,
        category_map=category_map,
        classes=tuple(c for c in task_classes(task) if c in present),
        feature_names=mask,
        x_train=transform.apply(raw_train),
        y_train=y_train,
        x_test=transform.apply(raw_test),
        y_test=y_test,
        raw_test=raw_test,
        transform=transform,
        labels_present={label: train_labels.count(label) for label in dict.fromkeys(train_labels)},
        data_fingerprint=fingerprint,
        training_manifest_sha256=hashlib.sha256(json.dumps(recipe).encode()).hexdigest(),
        seed=seed,
        notes=("test fixture: per-capture block split of the real rows in ../shared",),
    )


@cache
def small_task_dataset(task: Task, rows: int = 150) -> TaskDataset:
    """A cached real fixture: ``rows`` training and ``rows // 3`` test rows per capture.

    Shared by many tests: treat it as read-only.
    """
    return make_task_dataset(
        task, train_rows_per_capture=rows, test_rows_per_capture=max(rows // 3, 1)
    )


def synthetic_task_dataset(
    task: Task,
    classes: tuple[str, ...],
    *,
    rows: int = 600,
    seed: int = 0,
    protocol: Protocol = "holdout",
) -> TaskDataset:
    """A :class:`TaskDataset` of separable synthetic rows (independent rows: a 3:1 split)."""
    raw, labels = synthetic_rows(rows, FeatureLayout.CIC39, classes, seed)
    cut = rows * 3 // 4
    mask = FEATURES_39[:8]
    transform = FeatureTransform.fit(raw[:cut], FEATURES_39, mask)
    y_train = labels[:cut]
    return TaskDataset(
        task=task,
        protocol=protocol,
        layout=FeatureLayout.CIC39,
        category_map="study",
        classes=tuple(c for c in task_classes(task) if c in set(y_train.tolist())),
        feature_names=mask,
        x_train=transform.apply(raw[:cut]),
        y_train=y_train,
        x_test=transform.apply(raw[cut:]),
        y_test=labels[cut:],
        raw_test=raw[cut:],
        transform=transform,
        labels_present={str(c): int((y_train == c).sum()) for c in classes},
        data_fingerprint=hashlib.sha256(raw.tobytes()).hexdigest(),
        training_manifest_sha256=hashlib.sha256(b"synthetic").hexdigest(),
        seed=seed,
        notes=("synthetic rows",),
    )


__all__ = [
    "Capture",
    "block_split",
    "data_available",
    "load_captures",
    "make_task_dataset",
    "small_task_dataset",
    "synthetic_task_dataset",
]

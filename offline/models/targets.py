"""Class names ↔ the integer codes models are fitted on.

Every model is fitted on codes ``0..k-1`` that index the classes present in the training set, in
the task's fixed order (:func:`iotad.schemas.labels.task_classes`). Model outputs therefore come in
that order for every model kind, and a bundle's ``classes`` list is always in task order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iotad.errors import DataError
from iotad.offline.types import TaskDataset


def training_classes(dataset: TaskDataset) -> tuple[str, ...]:
    """The classes of ``dataset.classes`` that occur in its training rows, in that order.

    Raises
    ------
    DataError
        if a training label is not one of ``dataset.classes`` or fewer than two classes remain.
    """
    present = set(np.unique(dataset.y_train).tolist())
    unknown = sorted(present - set(dataset.classes))
    if unknown:
        raise DataError(
            f"{int(dataset.task)}-class training rows carry labels outside the task's classes: "
            f"{unknown}"
        )
    classes = tuple(c for c in dataset.classes if c in present)
    if len(classes) < 2:
        raise DataError(
            f"{int(dataset.task)}-class task has {len(classes)} class(es) in its training rows "
            f"({list(classes)}); a classifier needs at least two",
            hint="add data for more labels, or leave this task out (--tasks)",
        )
    return classes


def encode(labels: NDArray[np.str_], classes: tuple[str, ...]) -> NDArray[np.int64]:
    """The code of each label: its index in ``classes`` (every label must be in ``classes``)."""
    lookup = {name: code for code, name in enumerate(classes)}
    return np.fromiter((lookup[str(label)] for label in labels), dtype=np.int64, count=len(labels))


__all__ = ["encode", "training_classes"]

"""Class scores → a decision per flow: top class, confidence, alert / benign / uncertain, top-k.

* **benign**: the top class is one of the bundle's benign classes. Counted, never alerted.
* **alert**: the top class is an attack class and its score is at least the threshold.
* **uncertain**: the top class is an attack class below the threshold. Counted, not alerted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from iotad.schemas.labels import Category


@dataclass(frozen=True)
class DecisionPolicy:
    """How a bundle's classes turn into alerts.

    Parameters
    ----------
    classes
        class names in score-column order.
    categories
        the alert category of each class.
    labels
        the fine-grained label an alert carries for each class (``None`` when the class is only a
        category, as in the 2- and 8-class tasks).
    benign_classes
        classes that are counted, never alerted.
    threshold
        minimum top score for an alert.
    top_k
        how many classes an alert lists.
    """

    classes: tuple[str, ...]
    categories: tuple[Category, ...]
    labels: tuple[str | None, ...]
    benign_classes: frozenset[str]
    threshold: float
    top_k: int
    benign_mask: NDArray[np.bool_] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not len(self.classes) == len(self.categories) == len(self.labels):
            raise ValueError("classes, categories and labels must align")
        mask = np.array([c in self.benign_classes for c in self.classes], dtype=np.bool_)
        object.__setattr__(self, "benign_mask", mask)


@dataclass(frozen=True, slots=True)
class Decisions:
    """Per-flow decisions for one batch of scores."""

    top: NDArray[np.intp]
    confidence: NDArray[np.float32]
    alert: NDArray[np.bool_]
    benign: NDArray[np.bool_]
    uncertain: NDArray[np.bool_]

    @property
    def alert_rows(self) -> NDArray[np.intp]:
        """Row numbers that raise an alert."""
        return np.flatnonzero(self.alert)


def decide(scores: NDArray[np.float32], policy: DecisionPolicy) -> Decisions:
    """Decide every row of ``scores`` (shape ``(rows, classes)``).

    Examples
    --------
    >>> policy = DecisionPolicy(("Attack", "Benign"), (Category.ATTACK, Category.BENIGN),
    ...                         (None, None), frozenset({"Benign"}), 0.6, 2)
    >>> d = decide(np.array([[0.9, 0.1], [0.2, 0.8], [0.55, 0.45]], np.float32), policy)
    >>> d.alert.tolist(), d.benign.tolist(), d.uncertain.tolist()
    ([True, False, False], [False, True, False], [False, False, True])
    """
    top = scores.argmax(axis=1) if len(scores) else np.empty(0, dtype=np.intp)
    confidence = scores[np.arange(len(scores)), top].astype(np.float32)
    benign = policy.benign_mask[top]
    confident = confidence >= policy.threshold
    return Decisions(
        top=top,
        confidence=confidence,
        alert=~benign & confident,
        benign=benign,
        uncertain=~benign & ~confident,
    )


def top_k(
    scores: NDArray[np.float32], rows: NDArray[np.intp], k: int
) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """Class indices and scores of the ``k`` best classes of ``rows``, best first."""
    selected = scores[rows]
    k = min(k, selected.shape[1])
    order = np.argsort(-selected, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(selected, order, axis=1)


def class_counts(rows: NDArray[np.intp], names: Sequence[str]) -> dict[str, int]:
    """How many rows fell in each class (classes with none are left out)."""
    counts = np.bincount(rows, minlength=len(names))
    return {names[i]: int(n) for i, n in enumerate(counts) if n}


__all__ = ["DecisionPolicy", "Decisions", "class_counts", "decide", "top_k"]

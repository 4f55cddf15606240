"""Class scores (+ the gateway's baseline) → a decision per flow.

The classifier alone (:func:`decide`; a gateway without a baseline):

* **benign**: the top class is one of the bundle's benign classes. Counted, never alerted.
* **alert**: the top class is an attack class and its score is at least its class's threshold
  (one threshold per class when the policy has them, else the global one).
* **uncertain**: the top class is an attack class below the threshold. Counted, not alerted.

With the gateway's baseline (:func:`combine`), the baseline decides *whether* and the classifier
*what*:

* **normal** for the gateway: no alert, whatever the classifier says (counted as ``normal``);
* **anomalous** and the top class is an attack class: an alert of that class's category;
* **anomalous** and the top class is benign: an ``Unknown`` alert (a possible zero-day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from iotad.schemas.labels import Category
from iotad.stream.core.baseline import AnomalyVerdict


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
    class_thresholds
        a threshold per class (calibrated, see docs/baseline.md); classes it does not name use
        ``threshold``.
    """

    classes: tuple[str, ...]
    categories: tuple[Category, ...]
    labels: tuple[str | None, ...]
    benign_classes: frozenset[str]
    threshold: float
    top_k: int
    class_thresholds: Mapping[str, float] = field(default_factory=dict)
    benign_mask: NDArray[np.bool_] = field(init=False, repr=False, compare=False)
    thresholds: NDArray[np.float32] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not len(self.classes) == len(self.categories) == len(self.labels):
            raise ValueError("classes, categories and labels must align")
        unknown = sorted(set(self.class_thresholds) - set(self.classes))
        if unknown:
            raise ValueError(f"class_thresholds names classes the model lacks: {unknown}")
        mask = np.array([c in self.benign_classes for c in self.classes], dtype=np.bool_)
        object.__setattr__(self, "benign_mask", mask)
        per_class = [self.class_thresholds.get(c, self.threshold) for c in self.classes]
        object.__setattr__(self, "thresholds", np.array(per_class, dtype=np.float32))


@dataclass(frozen=True, slots=True)
class Decisions:
    """Per-flow decisions for one batch of scores."""

    top: NDArray[np.intp]
    confidence: NDArray[np.float32]
    alert: NDArray[np.bool_]
    benign: NDArray[np.bool_]
    uncertain: NDArray[np.bool_]
    #: alerts of category ``Unknown`` (anomalous for the gateway, benign to the classifier).
    unknown: NDArray[np.bool_] | None = None
    #: flows a baseline found normal for their gateway (never alerted).
    normal: NDArray[np.bool_] | None = None

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
    confident = confidence >= policy.thresholds[top]
    return Decisions(
        top=top,
        confidence=confidence,
        alert=~benign & confident,
        benign=benign,
        uncertain=~benign & ~confident,
    )


def combine(decisions: Decisions, verdict: AnomalyVerdict) -> Decisions:
    """The classifier's decisions overruled by the gateway baseline where a row has one.

    Every row is in exactly one of ``alert``, ``benign``, ``uncertain`` and ``normal`` (the
    last only for covered rows; ``benign`` and ``uncertain`` only for rows without a baseline).

    Examples
    --------
    >>> policy = DecisionPolicy(("Attack", "Benign"), (Category.ATTACK, Category.BENIGN),
    ...                         (None, None), frozenset({"Benign"}), 0.6, 2)
    >>> d = decide(np.array([[0.9, 0.1], [0.2, 0.8], [0.55, 0.45], [0.9, 0.1]], np.float32),
    ...            policy)
    >>> v = AnomalyVerdict(np.array([True, True, True, False]), np.zeros(4, np.float32),
    ...                    np.array([True, True, False, False]), np.zeros(4, np.intp), (), {})
    >>> c = combine(d, v)
    >>> c.alert.tolist(), c.unknown.tolist(), c.normal.tolist()
    ([True, True, False, True], [False, True, False, False], [False, False, True, False])
    """
    covered, anomalous = verdict.covered, verdict.anomalous
    if not covered.any():
        return decisions
    normal = covered & ~anomalous
    unknown = covered & anomalous & decisions.benign
    alert = np.where(covered, anomalous, decisions.alert)
    return Decisions(
        top=decisions.top,
        confidence=decisions.confidence,
        alert=alert,
        benign=decisions.benign & ~covered,
        uncertain=decisions.uncertain & ~covered,
        unknown=unknown,
        normal=normal,
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


__all__ = ["DecisionPolicy", "Decisions", "class_counts", "combine", "decide", "top_k"]

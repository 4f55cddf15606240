"""Fit a gateway's benign baseline in numpy: robust scaling, signed log, k-th nearest distance.

The novelty model (chosen by ``bench/baseline_candidates.py``; docs/baseline.md says why):

1. robust scaling per feature, ``z = (x - median) / (1.4826 · MAD)`` (the standard deviation, then
   1, where the MAD is 0), stored as the bundle's ``scaler.json``;
2. ``u = sign(z) · log1p(|z|)``, which keeps a flood's 10⁴× rate from drowning every other feature;
3. the anomaly score of a flow is the Euclidean distance from its ``u`` to the k-th nearest of the
   reference benign flows (at most ``max_reference_rows``, a seeded sample of the learning flows).

The threshold is set on benign flows that were *not* fitted on (:func:`far_threshold`).
Needs only numpy, so the worker can learn online without scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iotad.errors import DataError
from iotad.schemas.transform import FeatureTransform

MAD_TO_SIGMA = 1.4826


def robust_transform(raw: NDArray[np.floating], raw_features: tuple[str, ...]) -> FeatureTransform:
    """Median / MAD scaling of every raw feature (all features kept, in layout order)."""
    values = np.asarray(raw, dtype=np.float64)
    center = np.median(values, axis=0)
    scale = MAD_TO_SIGMA * np.median(np.abs(values - center), axis=0)
    std = values.std(axis=0)
    scale = np.where(scale > 0, scale, np.where(std > 0, std, 1.0))
    return FeatureTransform(raw_features, center, scale, raw_features)


def signed_log(z: NDArray[np.floating]) -> NDArray[np.float32]:
    """``sign(z) · log1p(|z|)`` as float32 (what the ONNX graph computes)."""
    z32 = np.asarray(z, dtype=np.float32)
    return (np.sign(z32) * np.log1p(np.abs(z32))).astype(np.float32)


@dataclass(frozen=True)
class KnnBaseline:
    """A fitted baseline: the transform, the reference rows (in signed-log space) and ``k``."""

    transform: FeatureTransform
    references: NDArray[np.float32]
    k: int

    def scores(self, raw: NDArray[np.floating]) -> NDArray[np.float32]:
        """The native anomaly score of each raw row (the ONNX graph must agree)."""
        u = signed_log(self.transform.apply(np.asarray(raw)))
        refs = self.references
        d2 = (
            (u * u).sum(axis=1, keepdims=True)
            - 2.0 * (u @ refs.T)
            + (refs * refs).sum(axis=1)[None, :]
        )
        kth = np.partition(d2, self.k - 1, axis=1)[:, self.k - 1]
        return np.sqrt(np.maximum(kth, 0.0)).astype(np.float32)


def fit_knn(
    raw: NDArray[np.floating],
    raw_features: tuple[str, ...],
    *,
    k: int,
    max_reference_rows: int,
    seed: int,
) -> KnnBaseline:
    """Fit the baseline on ``raw`` benign rows.

    Raises
    ------
    DataError
        with fewer than ``k + 1`` rows, or rows that are not finite.
    """
    values = np.asarray(raw, dtype=np.float64)
    if values.ndim != 2 or len(values) < k + 1:
        raise DataError(
            f"a baseline with k={k} needs at least {k + 1} learning flows, got {len(values)}"
        )
    if not np.isfinite(values).all():
        raise DataError("learning flows must be finite (drop rows with inf/NaN first)")
    transform = robust_transform(values, raw_features)
    if len(values) > max_reference_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(values), max_reference_rows, False))
        values = values[keep]
    references = signed_log(transform.apply(values))
    return KnnBaseline(transform, references, k)


@dataclass(frozen=True)
class Threshold:
    """A threshold on held-back benign scores and what it gives on them."""

    value: float
    target_far: float
    held_back_rows: int
    held_back_far: float

    @property
    def resolution(self) -> float:
        """The smallest false-alert rate the held-back rows can measure."""
        return 1.0 / self.held_back_rows


def far_threshold(held_back_scores: NDArray[np.floating], target_far: float) -> Threshold:
    """A threshold that flags at most ``target_far`` of the held-back benign flows.

    A flow alerts when its score is ``>=`` the threshold. The threshold sits half-way between
    the largest score that must stay quiet and the next one up (so float noise between the ONNX
    graph and numpy does not move a held-back flow across it). With fewer than ``1 / target_far``
    rows it sits 1 % above the largest held-back score (the target cannot be measured;
    ``resolution`` says so).

    Examples
    --------
    >>> t = far_threshold(np.arange(1.0, 101.0), 0.05)
    >>> t.held_back_far, t.value
    (0.05, 95.5)
    """
    scores = np.sort(np.asarray(held_back_scores, dtype=np.float64))
    n = len(scores)
    if n == 0:
        raise DataError("no held-back benign flows to set the threshold on")
    allowed = int(np.floor(target_far * n))
    quiet_max = float(scores[n - allowed - 1])
    if allowed:
        value = (quiet_max + float(scores[n - allowed])) / 2.0
    else:
        value = quiet_max + max(abs(quiet_max) * 0.01, 1e-3)
    if not value > quiet_max:  # equal scores on both sides: flag none of them
        value = float(np.nextafter(np.float32(quiet_max), np.float32(np.inf)))
    far = float(np.mean(scores >= value))
    return Threshold(value, target_far, n, far)


__all__ = [
    "KnnBaseline",
    "Threshold",
    "far_threshold",
    "fit_knn",
    "robust_transform",
    "signed_log",
]

"""Fit a gateway's benign baseline in numpy: robust scaling, signed log, k-th nearest distance.

The novelty model (chosen by ``bench/baseline_candidates.py``; docs/baseline.md says why):

1. robust scaling per feature, ``z = (x - median) / (1.4826 · MAD)`` (the standard deviation, then
   1, where the MAD is 0 or float noise), stored as the bundle's ``scaler.json``;
2. ``u = sign(z) · log1p(|z|)``, which keeps a flood's 10⁴× rate from drowning every other feature;
3. the anomaly score of a flow is the Euclidean distance from its ``u`` to the k-th nearest of the
   reference benign flows (at most ``max_reference_rows``, a seeded sample of the learning flows),
   never below ``sqrt(D2_FLOOR)`` = 0.1.

The threshold is set on benign flows that were *not* fitted on (:func:`far_threshold`), so
that the false-alert rate stays within the target with 95 % confidence.
Needs only numpy, so the worker can learn online without scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iotad.errors import DataError
from iotad.schemas.transform import FeatureTransform

MAD_TO_SIGMA = 1.4826
#: Squared distances below this count as this (scores never fall below 0.1); see
#: :meth:`KnnBaseline.scores`.
D2_FLOOR = 1e-2
#: Spreads below this share of a feature's typical magnitude count as none (float noise).
NOISE_SPREAD = 1e-9


def robust_transform(raw: NDArray[np.floating], raw_features: tuple[str, ...]) -> FeatureTransform:
    """Median / MAD scaling of every raw feature (all features kept, in layout order)."""
    values = np.asarray(raw, dtype=np.float64)
    center = np.median(values, axis=0)
    scale = MAD_TO_SIGMA * np.median(np.abs(values - center), axis=0)
    std = values.std(axis=0)
    # A spread within float noise of the values is no spread: a perfectly regular sender's
    # Rate (1 / mean gap) varies in its last bits only. Scaling by it would blow that noise up
    # to z ≈ 1e13, and the distances (float32 in the graph) would lose their precision.
    noise = NOISE_SPREAD * np.maximum(np.abs(center), 1.0)
    scale = np.where(scale > noise, scale, np.where(std > noise, std, 1.0))
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
        """The native anomaly score of each raw row (the ONNX graph must agree).

        ``d²`` is computed as ``Σu² − 2 u·R + ΣR²`` in float32 (one matrix product, as in the
        graph), which cancels to noise of about 1e-7 · Σu² for a row at (almost) the
        distance 0 of a reference — common in captured traffic, where a steady sender makes
        identical windows. Its square root would turn that noise into score differences of
        ~1e-3 between the graph and numpy; below :data:`D2_FLOOR` (a tenth of a robust unit
        in signed-log space: as good as identical) a distance counts as that floor.
        """
        u = signed_log(self.transform.apply(np.asarray(raw)))
        refs = self.references
        d2 = (
            (u * u).sum(axis=1, keepdims=True)
            - 2.0 * (u @ refs.T)
            + (refs * refs).sum(axis=1)[None, :]
        )
        kth = np.partition(d2, self.k - 1, axis=1)[:, self.k - 1]
        return np.sqrt(np.maximum(kth, np.float32(D2_FLOOR))).astype(np.float32)


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


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0 if k < n else 1.0
    i = np.arange(k + 1, dtype=np.float64)
    log_choose = math.lgamma(n + 1) - _log_factorials(k) - _log_factorials(n, start=n - k)[::-1]
    return float(min(1.0, np.exp(log_choose + i * math.log(p) + (n - i) * math.log1p(-p)).sum()))


def _log_factorials(upto: int, start: int = 0) -> NDArray[np.float64]:
    """``log(j!)`` for ``j = start … upto``."""
    logs = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, upto + 1, dtype=np.float64)))])
    return logs[start : upto + 1]


def far_upper_bound(flagged: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on a rate seen as ``flagged`` of ``n``.

    Examples
    --------
    >>> round(far_upper_bound(0, 300), 4)  # the "rule of three": about 3 / n
    0.0099
    """
    lo, hi = flagged / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if _binomial_cdf(flagged, n, mid) > 1.0 - confidence:
            lo = mid
        else:
            hi = mid
    return hi


def far_threshold(
    held_back_scores: NDArray[np.floating], target_far: float, confidence: float = 0.95
) -> Threshold:
    """A threshold whose false-alert rate on benign flows is at most ``target_far``, with
    ``confidence``, judged on held-back benign flows.

    It flags the largest number k of held-back flows whose one-sided upper confidence bound
    (Clopper-Pearson) is still within the target, and sits half-way between the largest score
    that stays quiet and the next one up (so float noise between the ONNX graph and numpy does
    not move a held-back flow across it). When even k = 0 is not enough (fewer than about
    3 / target_far held-back flows) it sits 1 % above the largest held-back score: the target
    cannot be shown with these flows, and ``resolution`` says so.

    Examples
    --------
    >>> t = far_threshold(np.arange(1.0, 101.0), 0.05)
    >>> t.held_back_far, t.value
    (0.01, 99.5)
    """
    scores = np.sort(np.asarray(held_back_scores, dtype=np.float64))
    n = len(scores)
    if n == 0:
        raise DataError("no held-back benign flows to set the threshold on")
    lo, hi = 0, n - 1  # the bound grows with k: find the largest k within the target
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if far_upper_bound(mid, n, confidence) <= target_far:
            lo = mid
        else:
            hi = mid - 1
    allowed = lo
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
    "D2_FLOOR",
    "KnnBaseline",
    "Threshold",
    "far_threshold",
    "far_upper_bound",
    "fit_knn",
    "robust_transform",
    "signed_log",
]

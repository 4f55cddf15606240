"""Derive the demo's flow-profile table from real CICIoT2023 rows (statistics only, never rows).

Per label with at least ``min_rows`` rows:

1. k-means on the standardised ``log1p(|x|)`` of the free features, with at most
   ``max_clusters`` clusters of at least ``min_rows`` rows each (smaller ones are dissolved into
   their nearest neighbour);
2. per cluster, each free feature's marginal: a constant, a value table (at most
   ``max_discrete`` distinct values) or ``levels`` quantiles;
3. per cluster, a Gaussian copula: the correlation of the features' normal scores (Spearman-like,
   ties get their mid-rank), kept as a rank-``rank`` factor model so the table stays small.

Used by ``scripts/derive_demo_profiles.py``; a test checks that the shipped table equals what
this derives from the shared rows. Deterministic for a given seed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.demo.identities import FREE_FEATURES
from iotad.demo.profiles import Cluster, Copula, LabelProfile, Marginal, ProfileTable
from iotad.schemas.features import FEATURES_39

logger = logging.getLogger(__name__)

_FREE_INDEX = np.array([FEATURES_39.index(f) for f in FREE_FEATURES], dtype=np.intp)
_KMEANS_ITERATIONS = 60
_MIN_UNIQUENESS = 0.005


@dataclass(frozen=True)
class FitConfig:
    """How the table is derived (the defaults made the shipped table)."""

    seed: int = 42
    max_clusters: int = 12
    min_rows: int = 20
    max_discrete: int = 12
    levels: int = 17
    rank: int = 4
    digits: int = 4


def real_rows(root: Path) -> tuple[NDArray[np.float64], NDArray[np.str_], list[str]]:
    """Every valid 39-column row under ``root`` (per-class tree + MERGED sample), deduplicated.

    Returns the rows, their canonical labels and the files read (relative to ``root``).
    """
    from iotad.stream.captures import read_captures

    files = sorted(p for p in (root / "per_class").glob("*/*.csv*"))
    files.append(root / "ciciot2023_merged39_sample.csv.gz")
    x, y, _ = read_captures(files)
    keyed = np.concatenate([x, np.unique(y, return_inverse=True)[1][:, None]], axis=1)
    _, first = np.unique(keyed, axis=0, return_index=True)
    keep = np.sort(first)
    logger.info("%d real rows, %d after removing exact duplicates", len(x), len(keep))
    return x[keep], y[keep], [str(f.relative_to(root)) for f in files]


def _round(values: Sequence[float] | NDArray[np.float64], digits: int) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64)]


def kmeans(points: NDArray[np.float64], k: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Cluster index of each point: k-means++ seeding, then Lloyd iterations."""
    n = len(points)
    centres = [points[rng.integers(n)]]
    nearest = ((points - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = nearest.sum()
        if total <= 0:
            break
        centre = points[rng.choice(n, p=nearest / total)]
        centres.append(centre)
        nearest = np.minimum(nearest, ((points - centre) ** 2).sum(axis=1))
    centroids = np.asarray(centres)
    assignment = np.zeros(n, dtype=np.intp)
    for _ in range(_KMEANS_ITERATIONS):
        distances = (
            (points**2).sum(axis=1)[:, None]
            - 2.0 * points @ centroids.T
            + (centroids**2).sum(axis=1)[None, :]
        )
        updated = distances.argmin(axis=1)
        if np.array_equal(updated, assignment) and _ > 0:
            break
        assignment = updated
        for j in range(len(centroids)):
            members = points[assignment == j]
            if len(members):
                centroids[j] = members.mean(axis=0)
    return assignment


def clusters_of(points: NDArray[np.float64], cfg: FitConfig) -> NDArray[np.intp]:
    """k-means with at most ``max_clusters`` clusters, none under ``min_rows`` rows."""
    k = max(1, min(cfg.max_clusters, len(points) // cfg.min_rows))
    if k == 1:
        return np.zeros(len(points), dtype=np.intp)
    assignment = kmeans(points, k, np.random.default_rng(cfg.seed))
    while True:
        ids, sizes = np.unique(assignment, return_counts=True)
        if len(ids) == 1 or sizes.min() >= cfg.min_rows:
            break
        small = ids[sizes.argmin()]
        centroids = {i: points[assignment == i].mean(axis=0) for i in ids if i != small}
        keys = np.asarray(list(centroids))
        matrix = np.asarray(list(centroids.values()))
        moving = assignment == small
        distances = ((points[moving][:, None, :] - matrix[None, :, :]) ** 2).sum(axis=2)
        assignment[moving] = keys[distances.argmin(axis=1)]
    _, compact = np.unique(assignment, return_inverse=True)
    return np.asarray(compact, dtype=np.intp)


def fit_marginal(values: NDArray[np.float64], cfg: FitConfig) -> Marginal:
    """A constant, a value table or quantiles, whichever describes ``values``."""
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) == 1:
        return Marginal(c=_round(distinct, cfg.digits)[0])
    if len(distinct) <= cfg.max_discrete:
        return Marginal(v=_round(distinct, cfg.digits), p=_round(counts / counts.sum(), cfg.digits))
    return Marginal(q=_round(np.quantile(values, np.linspace(0.0, 1.0, cfg.levels)), cfg.digits))


def normal_scores(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Φ⁻¹ of each value's mid-rank / (n + 1): the copula's view of one feature."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    distinct, inverse = np.unique(values, return_inverse=True)
    mid = np.bincount(inverse, weights=ranks) / np.bincount(inverse)
    inv_cdf = np.vectorize(NormalDist().inv_cdf)
    return np.asarray(inv_cdf(mid[inverse] / (len(values) + 1)), dtype=np.float64)


def canonical_signs(vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    """``vectors`` with each column signed so that its largest entry is positive.

    An eigenvector's sign is arbitrary and differs between BLAS builds. Magnitudes are compared
    after rounding to 8 decimals, and of equal ones the first wins, so two entries of equal size
    and opposite sign (mirrored features) pick the same sign on every machine.

    Examples
    --------
    >>> canonical_signs(np.array([[0.5], [-0.5], [0.1]])).ravel().tolist()
    [0.5, -0.5, 0.1]
    >>> canonical_signs(np.array([[-0.5], [0.5], [0.1]])).ravel().tolist()
    [0.5, -0.5, -0.1]
    """
    pivot = np.round(np.abs(vectors), 8).argmax(axis=0)  # argmax: the first of equal maxima
    signs = np.sign(vectors[pivot, np.arange(vectors.shape[1])])
    signs[signs == 0] = 1.0
    return np.asarray(vectors * signs)


def _top_factors(matrix: NDArray[np.float64], rank: int) -> NDArray[np.float64]:
    """Loadings of the ``rank`` leading eigenvectors (signs: :func:`canonical_signs`)."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    top = np.argsort(eigenvalues)[::-1][:rank]
    vectors = canonical_signs(eigenvectors[:, top])
    return np.asarray(vectors * np.sqrt(np.maximum(eigenvalues[top], 0.0)))


def factor_model(
    correlation: NDArray[np.float64], rank: int, iterations: int = 200
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Loadings L and uniqueness ψ with L·Lᵀ + diag ψ ≈ ``correlation`` and a unit diagonal.

    Principal-axis factoring: the eigen-decomposition is repeated on the correlation with the
    uniquenesses taken off its diagonal, so L·Lᵀ fits the off-diagonal correlations (a plain
    truncated eigen-decomposition overstates them).
    """
    rank = min(rank, len(correlation))
    loadings = _top_factors(correlation, rank)
    uniqueness = np.clip(1.0 - (loadings**2).sum(axis=1), _MIN_UNIQUENESS, 1.0)
    for _ in range(iterations):
        loadings = _top_factors(correlation - np.diag(uniqueness), rank)
        updated = np.clip(1.0 - (loadings**2).sum(axis=1), _MIN_UNIQUENESS, 1.0)
        if np.max(np.abs(updated - uniqueness)) < 1e-6:
            break
        uniqueness = updated
    common = (loadings**2).sum(axis=1)
    scale = np.sqrt(np.minimum(1.0, (1.0 - _MIN_UNIQUENESS) / np.maximum(common, 1e-12)))
    loadings = loadings * scale[:, None]
    return loadings, 1.0 - (loadings**2).sum(axis=1)


def fit_copula(free: NDArray[np.float64], cfg: FitConfig) -> Copula | None:
    """The rank-``cfg.rank`` factor model of the normal scores' correlation (None: < 2 varying)."""
    varying = [j for j in range(free.shape[1]) if np.ptp(free[:, j]) > 0]
    if len(varying) < 2 or len(free) < 3:
        return None
    scores = np.column_stack([normal_scores(free[:, j]) for j in varying])
    correlation = np.atleast_2d(np.nan_to_num(np.corrcoef(scores, rowvar=False), nan=0.0))
    np.fill_diagonal(correlation, 1.0)
    loadings, uniqueness = factor_model(correlation, cfg.rank)
    return Copula(
        features=varying,
        loadings=[_round(row, cfg.digits) for row in loadings],
        uniqueness=_round(np.maximum(uniqueness, 0.0), cfg.digits),
    )


def _cluster_order(free: NDArray[np.float64], assignment: NDArray[np.intp]) -> list[int]:
    """Cluster ids, largest cluster first; equal sizes by their mean row (lexicographic).

    k-means numbers its clusters by the order of its seeding, which says nothing; this order
    depends only on the clusters themselves.
    """
    ids = range(int(assignment.max()) + 1)
    sizes = np.bincount(assignment)
    means = {j: tuple(np.round(free[assignment == j].mean(axis=0), 8).tolist()) for j in ids}
    return sorted(ids, key=lambda j: (-int(sizes[j]), means[j]))


def fit_label(rows: NDArray[np.float64], cfg: FitConfig) -> LabelProfile:
    """The clusters of one label's rows (39-column order)."""
    free = rows[:, _FREE_INDEX]
    logged = np.log1p(np.abs(free))
    spread = logged.std(axis=0)
    spread[spread == 0] = 1.0
    assignment = clusters_of((logged - logged.mean(axis=0)) / spread, cfg)
    clusters = []
    for j in _cluster_order(free, assignment):
        members = free[assignment == j]
        clusters.append(
            Cluster(
                weight=_round([len(members) / len(free)], cfg.digits)[0],
                rows=len(members),
                marginals=[fit_marginal(members[:, f], cfg) for f in range(free.shape[1])],
                copula=fit_copula(members, cfg),
            )
        )
    return LabelProfile(rows=len(rows), clusters=clusters)


def derive_table(
    x: NDArray[np.float64],
    y: NDArray[np.str_],
    source: dict[str, object],
    cfg: FitConfig | None = None,
) -> ProfileTable:
    """The profile table of every label with at least ``cfg.min_rows`` rows."""
    cfg = cfg or FitConfig()
    labels: dict[str, LabelProfile] = {}
    skipped: dict[str, int] = {}
    for label in sorted(set(y.tolist())):
        rows = x[y == label]
        if len(rows) < cfg.min_rows:
            skipped[label] = len(rows)
            continue
        labels[label] = fit_label(rows, cfg)
        logger.info("%s: %d rows, %d clusters", label, len(rows), len(labels[label].clusters))
    return ProfileTable(
        note="SYNTHETIC-flow statistics derived from genuine CICIoT2023 rows; no row is stored. "
        "Rows sampled from this table are synthetic.",
        features=list(FREE_FEATURES),
        quantile_levels=cfg.levels,
        source={
            **source,
            "labels_skipped_too_few_rows": skipped,
            "fit": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        },
        labels=labels,
    )


def implied_correlation(copula: dict[str, Any]) -> NDArray[np.float64]:
    """The correlation a copula's factor model stands for: L·Lᵀ + diag ψ.

    Unlike the loadings themselves it does not depend on the eigenvectors' signs or on how a
    linear-algebra library picks a basis of equal eigenvalues.
    """
    loadings = np.asarray(copula["loadings"], dtype=np.float64)
    return np.asarray(loadings @ loadings.T + np.diag(copula["uniqueness"]))


def table_differences(
    shipped: ProfileTable, derived: ProfileTable, *, rtol: float = 2e-3, corr_atol: float = 2e-3
) -> list[str]:
    """Where two tables differ: structure exactly, numbers within ``rtol`` (empty: they match).

    Numbers are compared with a tolerance because the last kept digit (``FitConfig.digits``
    significant digits) may flip when another CPU's linear algebra rounds differently. A
    copula is compared by its features and the correlation it implies (within ``corr_atol``,
    about what rounding the loadings to four digits can move), not loading by loading.
    """
    problems: list[str] = []

    def walk(a: object, b: object, where: str) -> None:
        if len(problems) >= 20:
            return
        if isinstance(a, dict) and isinstance(b, dict) and "loadings" in a and "loadings" in b:
            walk(a["features"], b["features"], f"{where}.features")
            if a["features"] == b["features"]:
                gap = np.abs(implied_correlation(a) - implied_correlation(b)).max(initial=0.0)
                if gap > corr_atol:
                    problems.append(f"{where}: implied correlations differ by up to {gap:.4f}")
            return
        if isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                problems.append(f"{where}: keys {sorted(a.keys() ^ b.keys())[:5]} differ")
                return
            for key in a:
                walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                problems.append(f"{where}: {len(a)} entries vs {len(b)}")
                return
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{i}]")
        elif isinstance(a, float | int) and isinstance(b, float | int):
            if not np.isclose(a, b, rtol=rtol, atol=1e-4):
                problems.append(f"{where}: {a} vs {b}")
        elif a != b:
            problems.append(f"{where}: {a!r} vs {b!r}")

    walk(shipped.model_dump(), derived.model_dump(), "table")
    return problems


__all__ = [
    "FitConfig",
    "canonical_signs",
    "clusters_of",
    "derive_table",
    "factor_model",
    "fit_copula",
    "fit_label",
    "fit_marginal",
    "implied_correlation",
    "kmeans",
    "normal_scores",
    "real_rows",
    "table_differences",
]

"""Deriving the profile table: clustering, marginals, copula — and the shipped table is what the
derivation gives on the shared real rows."""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from iotad.demo.profile_fit import (
    FitConfig,
    canonical_signs,
    clusters_of,
    derive_table,
    fit_copula,
    fit_marginal,
    normal_scores,
    real_rows,
    table_differences,
)
from iotad.demo.profiles import Cluster, ClusterSampler, load_table
from iotad.schemas.features import FEATURES_39

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ciciot2023"


def test_clusters_respect_the_minimum_size() -> None:
    rng = np.random.default_rng(0)
    points = np.concatenate(
        [rng.normal(c, 0.1, size=(n, 3)) for c, n in ((0, 200), (5, 150), (9, 12))]
    )
    assignment = clusters_of(points, FitConfig(max_clusters=8, min_rows=20))
    sizes = np.bincount(assignment)
    assert sizes.min() >= 20 and len(sizes) <= 8
    assert len(set(assignment[:200])) < len(set(assignment))  # the far blobs are not all merged
    assert set(clusters_of(points[:30], FitConfig(min_rows=20))) == {0}


def test_marginal_kinds() -> None:
    cfg = FitConfig()
    assert fit_marginal(np.full(30, 7.0), cfg).c == 7.0
    table = fit_marginal(np.array([0.0] * 30 + [0.5] * 10), cfg)
    assert table.v == [0.0, 0.5] and table.p == [0.75, 0.25]
    spread = fit_marginal(np.linspace(0, 100, 500), cfg)
    assert spread.q is not None and len(spread.q) == cfg.levels
    assert spread.q[0] == 0 and spread.q[-1] == 100


def test_normal_scores_give_ties_their_mid_rank() -> None:
    scores = normal_scores(np.array([3.0, 1.0, 1.0, 2.0]))
    assert scores[1] == scores[2] < scores[3] < scores[0]
    assert scores[1] == pytest.approx(NormalDist().inv_cdf(1.5 / 5))  # ranks 1 and 2 → 1.5


def test_the_copula_reproduces_a_rank_correlation() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=(4000, 1))
    data = np.column_stack([base, 0.8 * base + 0.6 * rng.normal(size=(4000, 1)), rng.random(4000)])
    data[:, 0] = np.exp(data[:, 0])  # a skewed margin: ranks, not values, carry the dependence
    cfg = FitConfig(rank=2)
    cluster = Cluster(
        weight=1.0,
        rows=len(data),
        marginals=[fit_marginal(data[:, j], cfg) for j in range(3)],
        copula=fit_copula(data, cfg),
    )
    sample = ClusterSampler(cluster, np.linspace(0, 1, cfg.levels)).sample(20_000, rng)
    ranks = np.argsort(np.argsort(sample, axis=0), axis=0)
    corr = np.atleast_2d(np.corrcoef(ranks, rowvar=False))
    assert 0.7 < corr[0, 1] < 0.85
    assert abs(corr[0, 2]) < 0.05


def test_table_differences_names_what_changed() -> None:
    rng = np.random.default_rng(5)
    x = np.abs(rng.normal(50, 10, size=(60, len(FEATURES_39))))
    y = np.array(["XSS"] * 40 + ["BenignTraffic"] * 20)
    table = derive_table(x, y, {"rows": 60}, FitConfig(max_clusters=2))
    assert table_differences(table, table) == []
    other = derive_table(x * 1.1, y, {"rows": 60}, FitConfig(max_clusters=2))
    assert any("marginals" in p for p in table_differences(table, other))


def test_canonical_signs_do_not_depend_on_the_sign_a_library_returns() -> None:
    rng = np.random.default_rng(8)
    vectors = rng.uniform(-0.5, 0.5, size=(6, 3))
    vectors[2, 1], vectors[4, 1] = 0.9, -0.9  # mirrored features: equal largest magnitudes
    flips = np.array([-1.0, -1.0, 1.0])
    canonical = canonical_signs(vectors)
    assert np.array_equal(canonical_signs(vectors * flips), canonical)
    assert canonical[2, 1] == 0.9  # of the equal largest entries, the first is made positive
    assert (canonical[np.abs(canonical).argmax(axis=0), [0, 1, 2]] > 0).all()


def test_copulas_compare_by_the_correlation_they_imply_not_their_loadings() -> None:
    rng = np.random.default_rng(9)
    x = np.abs(rng.normal(50, 10, size=(80, len(FEATURES_39))))
    y = np.array(["XSS"] * 80)
    table = derive_table(x, y, {"rows": 80}, FitConfig(max_clusters=1))
    cluster = table.labels["XSS"].clusters[0]
    assert cluster.copula is not None
    loadings = np.asarray(cluster.copula.loadings)
    rotation = np.linalg.qr(rng.normal(size=(loadings.shape[1],) * 2))[0]

    def with_loadings(matrix: np.ndarray) -> object:
        copula = cluster.copula.model_copy(update={"loadings": matrix.tolist()})  # type: ignore[union-attr]
        clusters = [cluster.model_copy(update={"copula": copula})]
        label = table.labels["XSS"].model_copy(update={"clusters": clusters})
        return table.model_copy(update={"labels": {"XSS": label}})

    # a sign flip or rotation of the factors is the same copula; a changed correlation is not
    assert table_differences(table, with_loadings(-loadings)) == []  # type: ignore[arg-type]
    assert table_differences(table, with_loadings(loadings @ rotation)) == []  # type: ignore[arg-type]
    changed = table_differences(table, with_loadings(loadings * 1.05))  # type: ignore[arg-type]
    assert changed and "implied correlations differ" in changed[0]


@pytest.mark.slow
def test_shipped_table_matches_the_derivation_from_the_real_rows() -> None:
    if not (DATA / "per_class").is_dir():
        pytest.skip(f"real CICIoT2023 rows not found at {DATA} (shared/ beside the repository)")
    x, y, files = real_rows(DATA)
    derived = derive_table(x, y, {"files": files, "rows": len(x)})
    problems = table_differences(load_table(), derived)
    assert problems == [], "run `python scripts/derive_demo_profiles.py`: " + "; ".join(problems)

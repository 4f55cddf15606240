"""balance: the study's resampling, SMOTE on the training part only, visible target rules.

The protocol test follows row ids from ``split`` through ``balance`` and proves that no test row
(nor a SMOTE neighbour of one) reaches the honest training set.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import resample

from iotad.errors import DataError
from iotad.offline.config import BalanceConfig, SplitConfig, VarianceConfig
from iotad.offline.frames import lazy_frame, parquet_parts, read_frame
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.stages.balance import (
    SYNTHETIC_ROW_ID,
    BalancedSet,
    Origin,
    balance,
    plan_balance,
    resample_indices,
)
from iotad.offline.stages.scale import ScaleJob, Standardisation, fit_scaler, scale_part
from iotad.offline.stages.split import split
from iotad.offline.stages.variance import fit_variance
from iotad.schemas.features import FEATURES_39
from iotad.schemas.labels import Task


@dataclass(frozen=True)
class Scaled:
    train: Path
    test: Path
    scaled: Path
    scaler: Standardisation


def _scale(source: Path, dest: Path, executor: DaskExecutor) -> Standardisation:
    parts = parquet_parts(source)
    kept = fit_variance(lazy_frame(parts), FEATURES_39, VarianceConfig()).kept
    scaler = fit_scaler(lazy_frame(parts), kept)
    dest.mkdir(parents=True)
    executor.map(scale_part, [ScaleJob(p, dest / p.name, scaler) for p in parts])
    return scaler


@pytest.fixture(scope="module")
def holdout(
    cleaned: Path, tmp_path_factory: pytest.TempPathFactory, executor: DaskExecutor
) -> Scaled:
    root = tmp_path_factory.mktemp("holdout")
    split(parquet_parts(cleaned), root / "split", SplitConfig(), executor)
    scaler = _scale(root / "split" / "train", root / "scaled", executor)
    return Scaled(root / "split" / "train", root / "split" / "test", root / "scaled", scaler)


SMALL = BalanceConfig(targets={2: 300, 8: 200, 34: 150}, max_oversample=4)


def test_plan_downsamples_smotes_keeps_and_skips() -> None:
    counts = {"XSS": 1000, "SqlInjection": 50, "Uploading_Attack": 150, "DNS_Spoofing": 1}
    plan = plan_balance(counts, Task.LABEL, BalanceConfig(targets={2: 1, 8: 1, 34: 150}))
    by = {p.name: p for p in plan.classes}
    assert (by["XSS"].method, by["XSS"].target) == ("downsample", 150)
    assert (by["SqlInjection"].method, by["SqlInjection"].target) == ("smote", 150)
    assert by["Uploading_Attack"].method == "kept"
    assert by["DNS_Spoofing"].method == "skipped"


def test_targets_scale_down_visibly() -> None:
    counts = {"XSS": 400, "SqlInjection": 30, "Uploading_Attack": 3}
    plan = plan_balance(counts, Task.LABEL, BalanceConfig(max_oversample=10))
    assert plan.requested_target == 84_500 and plan.target == 400
    assert plan.to_json()["target_scaled_down"] is True
    by = {p.name: p for p in plan.classes}
    assert by["SqlInjection"].target == 300, "at most max_oversample × its rows"
    assert by["Uploading_Attack"].k == 2, "k adapts to a tiny class"


def test_a_task_with_one_usable_class_is_refused() -> None:
    with pytest.raises(DataError, match="needs two classes"):
        plan_balance({"Attack": 500, "Benign": 1}, Task.BINARY, BalanceConfig())


def test_resample_indices_are_sklearns() -> None:
    rows = np.arange(1000)
    assert (
        resample_indices(1000, 300, 42).tolist()
        == resample(rows, replace=True, n_samples=300, random_state=42).tolist()
    )


@pytest.mark.parametrize("task", list(Task))
def test_every_kept_class_reaches_its_target(
    holdout: Scaled, executor: DaskExecutor, task: Task
) -> None:
    parts = parquet_parts(holdout.scaled)
    result, plan = balance(parts, holdout.scaler.features, task, "study", SMALL, executor)
    counts = dict(zip(*np.unique(result.y, return_counts=True), strict=True))
    assert counts == {p.name: p.target for p in plan.kept}
    assert result.x.dtype == np.float32 and result.x.shape[1] == len(holdout.scaler.features)


def test_balance_is_deterministic_and_leaves_its_input(
    holdout: Scaled, executor: DaskExecutor
) -> None:
    parts = parquet_parts(holdout.scaled)
    before = {p.name: p.read_bytes() for p in parts}
    a, _ = balance(parts, holdout.scaler.features, Task.LABEL, "study", SMALL, executor)
    b, _ = balance(parts, holdout.scaler.features, Task.LABEL, "study", SMALL, executor)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert {p.name: p.read_bytes() for p in parts} == before


def _unexplained(result: BalancedSet, pool: dict[str, np.ndarray], k: int) -> int:
    """SMOTE rows that are not on a segment between a pool row and one of its near neighbours."""
    missing = 0
    for name in np.unique(result.y[result.origin == Origin.SMOTE]):
        rows = pool[name].astype(np.float64)
        synthetic = result.x[(result.origin == Origin.SMOTE) & (result.y == name)].astype(
            np.float64
        )
        if len(rows) < 2:
            missing += len(synthetic)
            continue
        neighbours = NearestNeighbors(n_neighbors=min(len(rows), k + 4)).fit(rows)
        near = neighbours.kneighbors(rows, return_distance=False)[:, 1:]
        a = np.repeat(rows, near.shape[1], axis=0)
        b = rows[near.ravel()]
        span = b - a
        length = np.maximum((span**2).sum(axis=1), 1e-12)
        for s in synthetic:
            t = np.clip(((s - a) * span).sum(axis=1) / length, 0.0, 1.0)
            gap = np.abs(a + t[:, None] * span - s).max(axis=1)
            missing += int(gap.min() > 1e-4)
    return missing


def test_no_test_row_or_its_neighbour_reaches_the_training_set(
    holdout: Scaled, executor: DaskExecutor
) -> None:
    features = list(holdout.scaler.features)
    train_ids = set(read_frame(parquet_parts(holdout.train), ["row_id"])["row_id"])
    test = read_frame(parquet_parts(holdout.test))
    assert not train_ids & set(test["row_id"])
    result, plan = balance(
        parquet_parts(holdout.scaled), features, Task.LABEL, "study", SMALL, executor
    )
    real = result.row_id[result.origin != Origin.SMOTE]
    assert set(real.tolist()) <= train_ids
    assert (result.row_id[result.origin == Origin.SMOTE] == SYNTHETIC_ROW_ID).all()
    # SMOTE rows lie between two training rows of their own class, never towards a test row.
    scaled = read_frame(parquet_parts(holdout.scaled))
    pool = {
        name: scaled.loc[scaled["label"] == name, features].to_numpy() for name in plan_names(plan)
    }
    assert (result.origin == Origin.SMOTE).sum() > 100
    assert _unexplained(result, pool, SMALL.k_neighbors) == 0
    # And no test row's features appear among the training rows.
    test_scaled = holdout.scaler.apply(test[features].to_numpy()).astype(np.float32)
    as_bytes = {row.tobytes() for row in result.x}
    assert not any(row.tobytes() in as_bytes for row in test_scaled)


def test_the_neighbour_check_catches_a_leak(
    holdout: Scaled, cleaned: Path, tmp_path: Path, executor: DaskExecutor
) -> None:
    """Negative control: balancing train + test rows makes SMOTE rows the check cannot explain."""
    scaler = _scale(cleaned, tmp_path / "all", executor)
    features = list(scaler.features)
    leaky, plan = balance(
        parquet_parts(tmp_path / "all"), features, Task.LABEL, "study", SMALL, executor
    )
    train = read_frame(parquet_parts(holdout.train))
    train_only = scaler.apply(train[features].to_numpy()).astype(np.float32)
    labels = train["label"].to_numpy()
    names = [n for n in plan_names(plan) if (labels == n).sum() > SMALL.k_neighbors]
    pool = {name: train_only[labels == name] for name in names}
    leaky_rows = BalancedSet(
        leaky.features,
        *(part[np.isin(leaky.y, names)] for part in (leaky.x, leaky.y, leaky.row_id, leaky.origin)),
    )
    assert len(names) >= 3
    assert _unexplained(leaky_rows, pool, SMALL.k_neighbors) > 0


def plan_names(plan) -> list[str]:  # noqa: ANN001
    return [p.name for p in plan.kept if p.method == "smote"]

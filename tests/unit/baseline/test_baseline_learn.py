"""Learning a gateway baseline: threshold from held-back flows, bundle written and verified."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from iotad.baseline import BaselineConfig, far_threshold, fit_knn, learn_baseline, split_learning
from iotad.baseline.fit import far_upper_bound
from iotad.errors import DataError, ModelLoadError
from iotad.schemas.baseline_bundle import bundle_kind, load_baseline, open_baseline_session
from iotad.schemas.bundle import sha256_file
from iotad.schemas.features import FEATURES_39, FeatureLayout
from iotad.stream.baselines import load_gateway_baseline


def _benign(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.lognormal(3.0, 0.3, size=(1, 39))
    return base * rng.lognormal(0.0, 0.1, size=(n, 39))


def test_threshold_keeps_the_rate_within_the_target_with_confidence() -> None:
    scores = np.random.default_rng(1).exponential(size=1000)
    t = far_threshold(scores, 0.01)
    flagged = int(np.sum(scores >= t.value))
    assert t.held_back_far == flagged / 1000 and 0 < flagged < 10
    assert far_upper_bound(flagged, 1000) <= 0.01 < far_upper_bound(flagged + 1, 1000)
    assert abs(far_upper_bound(0, 300) - 3 / 300) < 0.0005  # the rule of three
    small = far_threshold(np.array([1.0, 2.0, 3.0]), 0.01)  # target below the resolution
    assert small.value > 3.0 and small.held_back_far == 0.0 and small.resolution == 1 / 3
    with pytest.raises(DataError):
        far_threshold(np.array([]), 0.01)


def test_split_keeps_arrival_order_and_refuses_an_empty_part() -> None:
    rows = np.arange(20.0).reshape(10, 2)
    fitting, held = split_learning(rows, 0.3)
    assert fitting[-1, 0] == 12.0 and held[:, 0].tolist() == [14.0, 16.0, 18.0]
    with pytest.raises(DataError, match="cannot be split"):
        split_learning(rows[:1], 0.3)


def test_fit_refuses_too_few_or_non_finite_flows() -> None:
    with pytest.raises(DataError, match="at least 4"):
        fit_knn(_benign(3), FEATURES_39, k=3, max_reference_rows=10, seed=0)
    bad = _benign(10)
    bad[2, 5] = np.inf
    with pytest.raises(DataError, match="finite"):
        fit_knn(bad, FEATURES_39, k=3, max_reference_rows=10, seed=0)


def test_references_are_capped_with_a_seeded_sample() -> None:
    a = fit_knn(_benign(500), FEATURES_39, k=3, max_reference_rows=64, seed=3)
    b = fit_knn(_benign(500), FEATURES_39, k=3, max_reference_rows=64, seed=3)
    assert a.references.shape == (64, 39)
    np.testing.assert_array_equal(a.references, b.references)


def test_learnt_bundle_verifies_and_tells_benign_from_a_flood(tmp_path: Path) -> None:
    rows = _benign(400)
    dest, manifest = learn_baseline(
        rows, gateway_id="ward-3:gw", layout=FeatureLayout.CIC39,
        config=BaselineConfig(target_far=0.02), source="synthetic", dest_root=tmp_path,
    )  # fmt: skip
    assert bundle_kind(dest) == "baseline" and manifest.gateway_id == "ward-3:gw"
    assert manifest.training.train_rows == 300 and manifest.threshold.held_back_rows == 100
    assert manifest.threshold.held_back_far <= 0.02 and manifest.parity.passed
    loaded = load_gateway_baseline(dest)
    fresh = _benign(200, seed=0)[100:]  # same gateway, flows not learnt from
    flood = fresh * np.where(np.arange(39) == 3, 1000.0, 1.0)  # Rate × 1000
    scorer, threshold = loaded.baseline.scorer, loaded.baseline.threshold
    assert np.mean(scorer.scores(fresh) >= threshold) < 0.1
    assert np.all(scorer.scores(flood) >= threshold)


def test_a_tampered_canary_is_refused(tmp_path: Path) -> None:
    dest, _ = learn_baseline(
        _benign(100), gateway_id="gw", layout=FeatureLayout.CIC39, config=BaselineConfig(),
        source="synthetic", dest_root=tmp_path, version="1",
    )  # fmt: skip
    bad = tmp_path / "bad"
    shutil.copytree(dest, bad)
    canary = json.loads((bad / "canary.json").read_text())
    canary["expected_scores"] = [[s[0] + 1.0] for s in canary["expected_scores"]]
    (bad / "canary.json").write_text(json.dumps(canary))
    manifest = json.loads((bad / "manifest.json").read_text())
    with pytest.raises(ModelLoadError, match="canary.json has sha256"):
        load_baseline(bad)
    manifest["sha256"]["canary.json"] = sha256_file(bad / "canary.json")
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="canary check failed"):
        open_baseline_session(load_baseline(bad))


def test_a_classifier_bundle_is_not_a_baseline(tmp_path: Path) -> None:
    from support.bundles import make_tiny_bundle

    make_tiny_bundle(tmp_path / "clf")
    assert bundle_kind(tmp_path / "clf") == "classifier"
    with pytest.raises(ModelLoadError, match="not a gateway baseline"):
        load_baseline(tmp_path / "clf")
    with pytest.raises(ModelLoadError, match="no manifest.json"):
        bundle_kind(tmp_path)


def test_any_gateway_id_gets_a_valid_bundle_name(tmp_path: Path) -> None:
    dest, manifest = learn_baseline(
        _benign(60), gateway_id="ward 3/gw:1", layout=FeatureLayout.CIC39,
        config=BaselineConfig(), source="synthetic", dest_root=tmp_path, version="1",
    )  # fmt: skip
    assert manifest.gateway_id == "ward 3/gw:1" and manifest.name == "baseline-ward-3-gw-1"
    assert load_gateway_baseline(dest).baseline.gateway_id == "ward 3/gw:1"

"""Sampling synthetic flows from the shipped profile table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from iotad.demo.identities import identity_violations
from iotad.demo.profiles import (
    Cluster,
    ClusterSampler,
    FlowProfiles,
    Marginal,
    load_table,
    normal_cdf,
)
from iotad.demo.scenario import Scenario
from iotad.errors import ArtifactError
from iotad.schemas.features import FEATURES_39


def test_the_shipped_table_is_small_and_covers_the_scenario(profiles: FlowProfiles) -> None:
    table = Path(__file__).resolve().parents[3] / "iotad" / "demo" / "data" / "flow_profiles.json"
    assert table.stat().st_size < 1_000_000
    assert "SYNTHETIC" in profiles.table.note
    assert set(Scenario().labels) <= set(profiles.labels)
    assert all(p.rows >= 20 for p in profiles.table.labels.values())


def test_samples_have_the_layout_hold_every_identity_and_repeat_with_the_seed(
    profiles: FlowProfiles,
) -> None:
    for label in ("BenignTraffic", "DDoS-UDP_Fragmentation", "Recon-PortScan", "XSS"):
        rows = profiles.sample(label, 300, np.random.default_rng(7))
        assert rows.shape == (300, len(FEATURES_39))
        assert np.all(np.isfinite(rows))
        assert sum(identity_violations(rows).values()) == 0
        again = profiles.sample(label, 300, np.random.default_rng(7))
        np.testing.assert_array_equal(rows, again)


def test_labels_keep_their_character(profiles: FlowProfiles) -> None:
    number = FEATURES_39.index("Number")
    udp = FEATURES_39.index("UDP")
    floods = profiles.sample("DDoS-UDP_Fragmentation", 500, np.random.default_rng(1))
    web = profiles.sample("XSS", 500, np.random.default_rng(1))
    assert np.median(floods[:, number]) == 100  # flood windows hold 100 packets
    assert np.median(web[:, number]) < 100
    assert floods[:, udp].mean() > web[:, udp].mean()


def test_normal_cdf_matches_erf() -> None:
    z = np.linspace(-6, 6, 241)
    exact = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in z])
    assert np.max(np.abs(normal_cdf(z) - exact)) < 2e-7


def test_marginals_invert_as_described() -> None:
    levels = np.linspace(0, 1, 3)
    cluster = Cluster(
        weight=1.0,
        rows=10,
        marginals=[
            Marginal(c=4.0),
            Marginal(v=[1.0, 2.0], p=[0.25, 0.75]),
            Marginal(q=[0, 10, 20]),
        ],
    )
    sample = ClusterSampler(cluster, levels).sample(4000, np.random.default_rng(0))
    assert np.all(sample[:, 0] == 4.0)
    assert set(np.unique(sample[:, 1])) == {1.0, 2.0}
    assert abs(np.mean(sample[:, 1] == 1.0) - 0.25) < 0.03
    assert sample[:, 2].min() >= 0 and sample[:, 2].max() <= 20
    assert abs(np.median(sample[:, 2]) - 10) < 0.6


def test_a_marginal_must_be_exactly_one_kind() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Marginal(c=1.0, q=[0.0, 1.0])
    with pytest.raises(ValueError, match="probability per value"):
        Marginal(v=[1.0, 2.0], p=[1.0])


def test_a_broken_table_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        load_table(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "iotad.demo_profiles.v1"}')
    with pytest.raises(ArtifactError, match="invalid"):
        load_table(bad)

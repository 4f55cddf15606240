"""Export helpers: version names, canary selection, the parity comparison, manifest fields."""

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from support.signing import suite_signer
from support.task_datasets import synthetic_task_dataset

from iotad.errors import DataError, ModelLoadError
from iotad.offline.config import ExportConfig, SklearnConfig
from iotad.offline.models.onnx_graphs import to_onnx
from iotad.offline.models.parity import canary_rows, compare_scores
from iotad.offline.stages.evaluate import evaluate
from iotad.offline.stages.export_onnx import bundle_version, export_bundle, manifest_fields
from iotad.offline.stages.train_sklearn import train_sklearn
from iotad.offline.types import ModelKind
from iotad.schemas.bundle import load_bundle
from iotad.schemas.labels import Task
from iotad.schemas.manifest import ParityResult
from iotad.schemas.signing import SignatureState, TrustPolicy

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9._+-]+$")
CFG = ExportConfig()


def test_versions_sort_by_time_and_differ_by_data() -> None:
    start = datetime(2026, 11, 26, 18, 39, 5, tzinfo=UTC)
    times = [start + timedelta(milliseconds=ms) for ms in (0, 1, 999, 1000, 86_400_000)]
    versions = [bundle_version("f" * 64, t) for t in times]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert all(VERSION_PATTERN.match(v) for v in versions)
    assert bundle_version("a" * 64, start) != bundle_version("b" * 64, start)


def test_canaries_are_clear_winners_spread_over_classes() -> None:
    scores = np.array(
        [
            [0.50, 0.50, 0.00],  # a tie: never a canary while clear rows remain
            [0.90, 0.10, 0.00],
            [0.80, 0.20, 0.00],
            [0.10, 0.90, 0.00],
            [0.00, 0.20, 0.80],
        ]
    )
    picked = canary_rows(scores, 3, margin=0.01).tolist()
    assert sorted(picked) == [1, 3, 4]
    assert 0 not in canary_rows(scores, 4, margin=0.01).tolist()
    assert sorted(canary_rows(scores, 5, margin=0.01).tolist()) == [0, 1, 2, 3, 4]


def test_parity_comparison() -> None:
    rng = np.random.default_rng(0)
    expected = rng.dirichlet(np.ones(4), size=2000).astype(np.float32)
    assert compare_scores(expected, expected.copy(), CFG).passed
    nudged = expected + 5e-5
    result = compare_scores(expected, nudged, CFG)
    assert result.passed and result.max_abs_score_diff == pytest.approx(5e-5, rel=1e-2)
    assert not compare_scores(expected, expected + 2e-4, CFG).passed
    flipped = expected.copy()
    flipped[:3] = flipped[:3, ::-1]
    tied = np.full((1000, 2), 0.5, dtype=np.float32)
    swapped = tied + np.array([-1e-7, 1e-7], dtype=np.float32)
    assert compare_scores(tied, swapped, CFG).class_agreement == 1.0  # a tie agrees either way
    result = compare_scores(expected, flipped, CFG)
    assert result.class_agreement == pytest.approx(1997 / 2000) and not result.passed
    assert not compare_scores(expected, expected[:, :3], CFG).passed


def test_manifest_fields_name_categories_and_benign_classes() -> None:
    dataset = synthetic_task_dataset(Task.BINARY, ("Attack", "Benign"))
    (model,) = train_sklearn(dataset, [ModelKind.LR], SklearnConfig())
    evaluation = evaluate(dataset, model)
    graph = to_onnx(model, dataset.x_test.shape[1], 17)
    parity = ParityResult(
        rows=1, class_agreement=1.0, max_abs_score_diff=0.0, atol=1e-4, passed=True
    )
    fields = manifest_fields(dataset, model, evaluation, graph, parity, "v1")
    assert fields["name"] == "cic39-2class-lr"
    assert fields["class_categories"] == {"Attack": "Attack", "Benign": "Benign"}
    assert fields["decision"]["benign_classes"] == ["Benign"]
    assert fields["output"] == {"scores": "probabilities", "kind": "probability"}
    assert fields["training"]["train_rows"] == len(dataset.y_train)
    assert fields["training"]["library_versions"]["scikit-learn"]


def test_export_refuses_existing_bundles_and_mismatched_rows(tmp_path: Path) -> None:
    dataset = synthetic_task_dataset(Task.BINARY, ("Attack", "Benign"))
    (model,) = train_sklearn(dataset, [ModelKind.PERCEPTRON], SklearnConfig())
    evaluation = evaluate(dataset, model)
    (tmp_path / "taken").mkdir()
    with pytest.raises(ModelLoadError, match="refusing to overwrite"):
        export_bundle(dataset, model, evaluation, tmp_path / "taken", CFG)
    short = dataclasses.replace(dataset, raw_test=dataset.raw_test[:-1])
    with pytest.raises(DataError, match="matching raw_test and x_test"):
        export_bundle(short, model, evaluation, tmp_path / "new", CFG)
    with pytest.raises(DataError, match="trained for the 8-class"):
        other = dataclasses.replace(model, task=Task.CATEGORY)
        export_bundle(dataset, other, evaluation, tmp_path / "new", CFG)
    assert not (tmp_path / "new").exists()


def test_export_signs_the_bundle_with_the_configured_key(tmp_path: Path) -> None:
    dataset = synthetic_task_dataset(Task.BINARY, ("Attack", "Benign"))
    (model,) = train_sklearn(dataset, [ModelKind.PERCEPTRON], SklearnConfig())
    signer = suite_signer()
    manifest = export_bundle(
        dataset, model, evaluate(dataset, model), tmp_path / "b", CFG, signer=signer
    )
    bundle = load_bundle(tmp_path / "b", TrustPolicy((signer.public,)))
    assert bundle.manifest == manifest
    assert bundle.signature is not None and bundle.signature.state is SignatureState.SIGNED
    assert bundle.signature.key_id == signer.key_id
    assert not list(tmp_path.glob(".*"))  # nothing staged is left behind

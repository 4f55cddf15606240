"""Every model kind exports a bundle that the serving path reproduces (real rows, real ONNX).

For each kind: the bundle loads in a plain onnxruntime session and gives the native model's
scores on the held-out raw rows; ``load_bundle`` + ``open_session`` accept it (checksums and
canary rows); the manifest describes it. A bundle whose saved transform is wrong is refused and
nothing is published.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from support.offline_data import require_data
from support.task_datasets import small_task_dataset

from iotad.errors import ModelLoadError
from iotad.offline.config import ExportConfig, KerasConfig, SklearnConfig
from iotad.offline.models.scoring import native_scores
from iotad.offline.stages.evaluate import evaluate
from iotad.offline.stages.export_onnx import export_bundle
from iotad.offline.stages.train_keras import train_keras
from iotad.offline.stages.train_sklearn import train_sklearn
from iotad.offline.types import ModelKind, TaskDataset, TrainedModel
from iotad.schemas.bundle import load_bundle, open_session
from iotad.schemas.features import FEATURES_39
from iotad.schemas.labels import Task
from iotad.schemas.manifest import FeatureMaskFile, ScalerFile
from iotad.schemas.outputs import class_scores
from iotad.schemas.transform import FeatureTransform

SKLEARN = SklearnConfig(lr_max_iter=100)  # the study's models; LR capped for test time
TINY_DNN = KerasConfig(epochs={2: 1, 8: 1, 34: 1}, batch_size={2: 256, 8: 256, 34: 256})
EXPORT = ExportConfig()
CASES = [
    *((Task.CATEGORY, kind) for kind in ModelKind),
    (Task.BINARY, ModelKind.PERCEPTRON),
    (Task.BINARY, ModelKind.DNN),
    (Task.BINARY, ModelKind.RF_COMPACT),
]


@dataclasses.dataclass(frozen=True)
class Exported:
    dataset: TaskDataset
    model: TrainedModel
    path: Path


def _train(dataset: TaskDataset, kind: ModelKind) -> TrainedModel:
    if kind is ModelKind.DNN:
        return train_keras(dataset, TINY_DNN)
    return train_sklearn(dataset, [kind], SKLEARN)[0]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[Task, ModelKind], Exported]:
    require_data()
    root = tmp_path_factory.mktemp("models")
    bundles = {}
    for task, kind in CASES:
        dataset = small_task_dataset(task)
        model = _train(dataset, kind)
        path = root / str(int(task)) / kind.value / "v1"
        export_bundle(dataset, model, evaluate(dataset, model), path, EXPORT)
        bundles[(task, kind)] = Exported(dataset, model, path)
    return bundles


@pytest.fixture(params=CASES, ids=[f"{int(t)}-{k.value}" for t, k in CASES])
def case(
    request: pytest.FixtureRequest, exported: dict[tuple[Task, ModelKind], Exported]
) -> Exported:
    return exported[request.param]


def test_bundle_reproduces_the_native_model(case: Exported) -> None:
    import onnxruntime as ort

    manifest = load_bundle(case.path).manifest
    # A plain onnxruntime session on model.onnx, fed through the saved scaler and mask files.
    session = ort.InferenceSession(
        (case.path / "model.onnx").read_bytes(), providers=["CPUExecutionProvider"]
    )
    transform = FeatureTransform.from_files(
        ScalerFile.model_validate_json((case.path / "scaler.json").read_bytes()),
        FeatureMaskFile.model_validate_json((case.path / "feature_mask.json").read_bytes()),
    )
    (raw_output,) = session.run(
        [manifest.output.scores],
        {manifest.input.onnx_input: transform.apply(case.dataset.raw_test)},
    )
    served = class_scores(raw_output, manifest.output.kind, len(manifest.classes))
    native = native_scores(case.model, case.dataset.x_test)
    assert np.abs(served - native).max() <= EXPORT.score_atol
    # Same top class, or a class tied with it in the native scores (a forest's even vote).
    chosen = native[np.arange(len(native)), served.argmax(1)]
    assert np.mean(chosen >= native.max(1) - EXPORT.score_atol) >= EXPORT.min_class_agreement
    assert np.mean(served.argmax(1) == native.argmax(1)) >= 0.99
    # The stream worker's path: checksums, canary rows, then scoring raw rows.
    scoring = open_session(load_bundle(case.path))
    assert np.allclose(
        scoring.scores(case.dataset.raw_test[:50]), native[:50], atol=EXPORT.score_atol
    )
    assert manifest.parity.passed and manifest.parity.rows == len(case.dataset.raw_test)
    assert manifest.parity.max_abs_score_diff <= EXPORT.score_atol


def test_manifest_describes_the_bundle(case: Exported) -> None:
    kind, task = case.model.kind, case.dataset.task
    manifest = load_bundle(case.path).manifest
    assert manifest.version == "v1" and manifest.model_kind == kind.value
    assert manifest.task == int(task)
    assert manifest.classes == list(case.model.classes)
    assert manifest.input.raw_features == list(FEATURES_39)
    assert manifest.output.kind == (
        "decision_score" if kind is ModelKind.PERCEPTRON else "probability"
    )
    assert manifest.training.labels_present == dict(case.dataset.labels_present)
    assert manifest.training.data_fingerprint == case.dataset.data_fingerprint
    assert manifest.decision.benign_classes == (["Benign"] if "Benign" in manifest.classes else [])
    canary = load_bundle(case.path).canary
    assert len(canary.rows) == EXPORT.canary_rows
    assert set(canary.expected_classes) <= set(manifest.classes)


def test_canaries_cover_several_classes(exported: dict[tuple[Task, ModelKind], Exported]) -> None:
    canary = load_bundle(exported[(Task.CATEGORY, ModelKind.RF)].path).canary
    assert len(set(canary.expected_classes)) >= 4


def test_a_wrong_transform_fails_parity_and_publishes_nothing(
    exported: dict[tuple[Task, ModelKind], Exported], tmp_path: Path
) -> None:
    case = exported[(Task.CATEGORY, ModelKind.RF_COMPACT)]
    right = case.dataset.transform
    wrong = dataclasses.replace(right, mean=right.mean + right.scale)  # every feature off by 1 sd
    broken = dataclasses.replace(case.dataset, transform=wrong)
    evaluation = evaluate(case.dataset, case.model)
    dest = tmp_path / "8" / "rf-compact" / "v2"
    with pytest.raises(ModelLoadError, match="failed parity"):
        export_bundle(broken, case.model, evaluation, dest, EXPORT)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # the staging copy is gone too

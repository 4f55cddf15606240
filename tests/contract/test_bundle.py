"""Bundles round-trip, verify, and refuse tampering (real skl2onnx + onnxruntime)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.bundles import make_tiny_bundle, synthetic_rows

from iotad.errors import ModelLoadError
from iotad.schemas.bundle import load_bundle, open_session
from iotad.schemas.features import FeatureLayout
from iotad.schemas.labels import Task


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("bundles") / "tiny"
    make_tiny_bundle(dest)
    return dest


def test_bundle_loads_verifies_and_scores(bundle_dir: Path) -> None:
    session = open_session(load_bundle(bundle_dir))
    x, y = synthetic_rows(200, FeatureLayout.CIC39, ("Attack", "Benign"), seed=1)
    scores = session.scores(x)
    assert scores.shape == (200, 2)
    predicted = np.asarray(session.bundle.manifest.classes)[scores.argmax(axis=1)]
    assert (predicted == y).mean() > 0.9


def test_multiclass_bundle(tmp_path: Path) -> None:
    classes = ("DDoS", "Recon", "Web")
    make_tiny_bundle(tmp_path / "b", classes=classes, task=Task.CATEGORY)
    session = open_session(load_bundle(tmp_path / "b"))
    assert session.bundle.manifest.class_categories == {c: c for c in classes}


def test_tampered_model_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundle_dir, copy)
    with (copy / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelLoadError, match="model.onnx has sha256"):
        load_bundle(copy)


def test_wrong_canary_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundle_dir, copy)
    canary = json.loads((copy / "canary.json").read_text())
    canary["expected_scores"] = [[s[1], s[0]] for s in canary["expected_scores"]]
    (copy / "canary.json").write_text(json.dumps(canary))
    manifest = json.loads((copy / "manifest.json").read_text())
    from iotad.schemas.bundle import sha256_file

    manifest["sha256"]["canary.json"] = sha256_file(copy / "canary.json")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="canary check failed"):
        open_session(load_bundle(copy))


def test_garbage_onnx_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundle_dir, copy)
    (copy / "model.onnx").write_bytes(b"not an onnx graph")
    manifest = json.loads((copy / "manifest.json").read_text())
    from iotad.schemas.bundle import sha256_file

    manifest["sha256"]["model.onnx"] = sha256_file(copy / "model.onnx")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="does not load"):
        open_session(load_bundle(copy))


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a bundle directory"):
        load_bundle(tmp_path / "nope")


def test_existing_destination_is_not_overwritten(bundle_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="refusing to overwrite"):
        make_tiny_bundle(bundle_dir)

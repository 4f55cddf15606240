"""Per-class thresholds: a calibration file, or a folder of them named by bundle reference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from iotad.schemas.manifest import BundleManifest
from iotad.stream.loader import calibrated_thresholds

REPO = Path(__file__).resolve().parents[3]
BUNDLE = REPO / "models/task8/rf-compact/holdout-857c95861fa2"
CALIBRATION = REPO / "models/calibration/cic39-8class-rf-compact@holdout-857c95861fa2.json"


@pytest.fixture(scope="module")
def manifest() -> BundleManifest:
    return BundleManifest.model_validate_json((BUNDLE / "manifest.json").read_bytes())


def _sha(manifest: BundleManifest) -> str:
    return manifest.sha256[manifest.files.model]


def test_a_file_for_this_bundle_gives_its_thresholds(manifest: BundleManifest) -> None:
    expected = json.loads(CALIBRATION.read_text())["classes"]
    thresholds = calibrated_thresholds(CALIBRATION, manifest, _sha(manifest))
    assert thresholds == {name: c["threshold"] for name, c in expected.items()}
    assert thresholds["Web"] > 0.5  # stricter than the global threshold for a weak class


def test_a_folder_is_searched_by_bundle_reference(manifest: BundleManifest, tmp_path: Path) -> None:
    shutil.copy(CALIBRATION, tmp_path / CALIBRATION.name)
    assert calibrated_thresholds(tmp_path, manifest, _sha(manifest)) == calibrated_thresholds(
        CALIBRATION, manifest, _sha(manifest)
    )


def test_a_folder_without_this_bundle_or_another_model_gives_none(
    manifest: BundleManifest, tmp_path: Path
) -> None:
    assert calibrated_thresholds(tmp_path, manifest, _sha(manifest)) == {}
    assert calibrated_thresholds(CALIBRATION, manifest, "0" * 64) == {}

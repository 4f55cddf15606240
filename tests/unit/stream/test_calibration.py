"""Per-class thresholds from a calibration file apply only to the bundle they were made for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iotad.errors import ModelLoadError
from iotad.schemas.calibration import CalibrationFile, ClassCalibration
from iotad.settings import StreamSettings
from iotad.stream.loader import load_model


def _write(path: Path, bundle: str, sha: str, classes: dict[str, float]) -> Path:
    calibration = CalibrationFile(
        bundle=bundle, model_sha256=sha, budget=0.05, source="test",
        classes={c: ClassCalibration(threshold=t, validation_alerts=1, wrong_share=0.0)
                 for c, t in classes.items()},
    )  # fmt: skip
    path.write_text(calibration.model_dump_json())
    return path


def test_calibration_applies_to_its_bundle_only(
    bundles: dict[str, Path], stream_settings: StreamSettings, tmp_path: Path
) -> None:
    plain = load_model(bundles["labels"], stream_settings)
    ref = plain.serving.model
    file = _write(tmp_path / "c.json", f"{ref.name}@{ref.version}", ref.sha256, {"XSS": 0.9})
    settings = stream_settings.model_copy(update={"calibration": file})
    calibrated = load_model(bundles["labels"], settings).serving.policy
    xss = calibrated.classes.index("XSS")
    assert calibrated.thresholds[xss] == np.float32(0.9)
    assert calibrated.thresholds.tolist().count(np.float32(0.9)) == 1  # others keep the global
    other = _write(tmp_path / "o.json", "other@1", ref.sha256, {"XSS": 0.9})
    ignored = load_model(
        bundles["labels"], stream_settings.model_copy(update={"calibration": other})
    )
    assert set(ignored.serving.policy.thresholds.tolist()) == {stream_settings.confidence_threshold}
    bad = _write(tmp_path / "b.json", f"{ref.name}@{ref.version}", ref.sha256, {"Nope": 0.5})
    with pytest.raises(ModelLoadError, match="Nope"):
        load_model(bundles["labels"], stream_settings.model_copy(update={"calibration": bad}))

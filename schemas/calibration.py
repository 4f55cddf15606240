"""Per-class alert thresholds calibrated for one classifier bundle (``calibration.v1``).

Written by ``bench/baseline_report.py --calibration-out`` from *validation* rows (never test
rows): for every attack class, the lowest confidence threshold at which at most ``budget`` of
the validation alerts of that class are wrong (another category, or benign). The worker applies
it (``stream.calibration``) only to the bundle it names; it decides the alerts of gateways that
have no baseline (docs/baseline.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from iotad.schemas.manifest import Sha256


class ClassCalibration(BaseModel):
    """The threshold of one class and the validation evidence for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: Annotated[float, Field(ge=0, le=1.0001)]
    validation_alerts: Annotated[int, Field(ge=0)] = Field(
        description="Validation rows of this class's alerts at the threshold."
    )
    wrong_share: Annotated[float, Field(ge=0, le=1)] = Field(
        description="The share of those alerts whose true category differs."
    )


class CalibrationFile(BaseModel):
    """``calibration.json`` for one classifier bundle."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="iotad calibration v1")

    format_version: Literal[1] = 1
    bundle: str = Field(description="name@version of the classifier bundle.")
    model_sha256: Sha256
    budget: Annotated[float, Field(gt=0, lt=1)] = Field(
        description="Largest share of a class's validation alerts that may be wrong."
    )
    source: str = Field(description="Which validation rows were used.")
    classes: dict[str, ClassCalibration]


__all__ = ["CalibrationFile", "ClassCalibration"]

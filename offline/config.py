"""Typed, frozen configuration of the offline stages (defaults = the study's settings).

The runner builds these from :class:`iotad.settings.OfflineSettings` and CLI flags; stages receive
them as arguments and never read settings themselves.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SklearnConfig(_Config):
    """scikit-learn models (STUDY_PROTOCOL.md, "Training and evaluation")."""

    n_jobs: int = -1
    rf_n_estimators: int = Field(default=100, ge=1)
    lr_max_iter: int = Field(default=1000, ge=1)
    lr34_max_iter: int = Field(default=300, ge=1)
    lr34_tol: float = Field(default=1e-2, gt=0)
    ada_n_estimators: int = Field(default=100, ge=1)
    perceptron_max_iter: int = Field(default=1000, ge=1)


class KerasConfig(_Config):
    """The Keras DNN (architectures per task live with the model factories)."""

    epochs: dict[int, int] = Field(default_factory=lambda: {2: 10, 8: 10, 34: 20})
    batch_size: dict[int, int] = Field(default_factory=lambda: {2: 512, 8: 512, 34: 64})
    validation_split: dict[int, float] = Field(default_factory=lambda: {2: 0.0, 8: 0.0, 34: 0.1})


class ExportConfig(_Config):
    """ONNX export and its parity gate."""

    opset: int = Field(default=17, ge=9)
    canary_rows: int = Field(default=8, ge=1)
    min_class_agreement: float = Field(default=0.999, gt=0, le=1)
    score_atol: float = Field(default=1e-4, gt=0)


__all__ = ["ExportConfig", "KerasConfig", "SklearnConfig"]

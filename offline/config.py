"""Typed, frozen configuration of the offline stages (defaults = the study's settings).

The runner builds these from :class:`iotad.settings.OfflineSettings` and CLI flags; stages receive
them as arguments and never read settings themselves.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from iotad.offline.models.compact_forest import GATEWAY_FOREST, CompactForestParams


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
    rf_compact: CompactForestParams = GATEWAY_FOREST


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
    # Forests whose ONNX graph would be larger (estimated before building) are refused.
    max_forest_onnx_mb: float = Field(default=1000.0, gt=0)


class IngestConfig(_Config):
    """CSV → Parquet conversion (``ingest``)."""

    block_bytes: int = Field(default=16 << 20, ge=1 << 10, description="CSV bytes per block read.")
    part_rows: int = Field(default=2_000_000, ge=1, description="Rows per Parquet part file.")
    compression: Literal["snappy", "zstd", "gzip", "none"] = "snappy"


class CleanConfig(_Config):
    """Duplicate removal and null/inf handling (``clean``).

    ``Std`` and ``Variance`` are empty in CIC's rows whose window holds one packet
    (``Number`` = 1): their spread is zero, so ``zero_single_packet_spread`` fills them with 0.
    Every other row with an empty value or an infinite one (``Rate`` = inf) is dropped.
    """

    zero_single_packet_spread: bool = True
    drop_duplicates: bool = True


class SplitConfig(_Config):
    """The honest protocol's holdout split (``split``)."""

    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    gap_rows: int = Field(default=20, ge=0, description="Rows left out between train and test.")
    gap_fraction: float = Field(default=0.02, ge=0, lt=0.5, description="Gap cap per run.")
    min_label_rows: int = Field(default=10, ge=2, description="Smaller labels are left out.")
    min_run_rows: int = Field(default=5, ge=1, description="Smaller runs go to train whole.")
    min_files_for_file_split: int = Field(
        default=5, ge=2, description="A label with this many capture files holds out whole files."
    )
    seed: int = 42


class VarianceConfig(_Config):
    """Variance filter on the raw features (``variance``)."""

    threshold: float = Field(default=1e-5, ge=0)


class BalanceConfig(_Config):
    """Per-task class balancing (``balance``): resample down, SMOTE up.

    A task's target ``t = targets[task] * target_scale`` shrinks to the largest class when no
    class reaches it; a class below the target is raised by SMOTE to at most
    ``max_oversample`` times its own rows. Classes with fewer than ``min_class_rows`` rows are
    left out of the task, with a report.
    """

    targets: dict[int, int] = Field(default_factory=lambda: {2: 8_450, 8: 33_800, 34: 84_500})
    target_scale: float = Field(default=1.0, gt=0, le=1)
    max_oversample: float = Field(default=100.0, ge=1)
    k_neighbors: int = Field(default=5, ge=1)
    min_class_rows: int = Field(default=2, ge=2)
    seed: int = 42

    def target_for(self, task: int) -> int:
        """The per-class target of ``task`` before it adapts to the data."""
        return max(1, round(self.targets[task] * self.target_scale))


class ReduceConfig(_Config):
    """Pearson feature reduction (``reduce``)."""

    threshold: float = Field(default=0.9, gt=0, le=1)


class StudySplitConfig(_Config):
    """The study's final split: ``train_test_split(test_size=0.2, stratify=y, random_state=42)``."""

    test_size: float = Field(default=0.2, gt=0, lt=1)
    random_state: int = 42


class DataConfig(_Config):
    """Every data stage's configuration, as one value the runner hashes per stage."""

    ingest: IngestConfig = IngestConfig()
    clean: CleanConfig = CleanConfig()
    split: SplitConfig = SplitConfig()
    variance: VarianceConfig = VarianceConfig()
    balance: BalanceConfig = BalanceConfig()
    reduce: ReduceConfig = ReduceConfig()
    study_split: StudySplitConfig = StudySplitConfig()


__all__ = [
    "BalanceConfig",
    "CleanConfig",
    "DataConfig",
    "ExportConfig",
    "IngestConfig",
    "KerasConfig",
    "ReduceConfig",
    "SklearnConfig",
    "SplitConfig",
    "StudySplitConfig",
    "VarianceConfig",
]

"""The model bundle manifest: the contract between training (offline) and serving (stream).

A bundle is a directory ``models/<task>/<model>/<version>/`` holding::

    manifest.json        this model, below
    model.onnx           input = the scaled, masked feature vector (float32, [N, len(mask)])
    scaler.json          mean and scale for every raw feature of the layout (:class:`ScalerFile`)
    feature_mask.json    the ordered features the model uses (:class:`FeatureMaskFile`)
    canary.json          a few raw rows and the outputs they must give (:class:`CanaryFile`)
    metrics.json         the full evaluation of the model (free-form JSON)

``manifest.sha256`` holds the sha256 of every other file; a bundle whose files do not match is
refused. The JSON Schema ``bundle_manifest.v1.json`` is generated from :class:`BundleManifest`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iotad.schemas.features import FeatureLayout

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
BUNDLE_FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InputSpec(_Part):
    """What the bundle consumes."""

    layout: FeatureLayout
    raw_features: list[str] = Field(
        min_length=1, description="Every feature a flow must carry, in the scaler's order."
    )
    onnx_input: str = Field(description="Name of the ONNX graph input.")
    dtype: Literal["float32"] = "float32"


class OutputSpec(_Part):
    """What the ONNX graph returns and how to read it as per-class scores."""

    scores: str = Field(description="Name of the ONNX output with one column per class.")
    kind: Literal["probability", "decision_score"] = Field(
        description="probability: rows are class probabilities (or one sigmoid column for two "
        "classes); decision_score: margins, turned into pseudo-probabilities by softmax "
        "(sigmoid for one column) and marked uncalibrated."
    )


class BundleFiles(_Part):
    """File names inside the bundle directory."""

    model: str = "model.onnx"
    scaler: str = "scaler.json"
    feature_mask: str = "feature_mask.json"
    canary: str = "canary.json"
    metrics: str = "metrics.json"


class MetricsSummary(_Part):
    """Headline metrics on the held-out test part."""

    protocol: Literal["holdout", "study"]
    accuracy: Annotated[float, Field(ge=0, le=1)]
    macro_f1: Annotated[float, Field(ge=0, le=1)]
    test_rows: Annotated[int, Field(ge=0)]
    per_class_f1: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)


class TrainingInfo(_Part):
    """Where the model came from."""

    protocol: Literal["holdout", "study"]
    data_fingerprint: Sha256 = Field(description="sha256 over the ingested data's manifests.")
    training_manifest_sha256: Sha256 = Field(description="sha256 of the training stage manifest.")
    labels_present: dict[str, Annotated[int, Field(ge=0)]] = Field(
        description="Rows per canonical label in the data the model was trained on."
    )
    train_rows: Annotated[int, Field(ge=0)]
    seed: int
    code_version: str
    library_versions: dict[str, str] = Field(default_factory=dict)


class ParityResult(_Part):
    """Export check: saved scaler + mask + onnxruntime against the native model."""

    rows: Annotated[int, Field(ge=1)]
    class_agreement: Annotated[float, Field(ge=0, le=1)]
    max_abs_score_diff: Annotated[float, Field(ge=0)]
    atol: Annotated[float, Field(gt=0)]
    passed: bool


class DecisionSpec(_Part):
    """Defaults for turning scores into alerts."""

    benign_classes: list[str] = Field(description="Classes that are counted, never alerted.")
    confidence_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5


class BundleManifest(_Part):
    """``manifest.json`` of a model bundle."""

    model_config = ConfigDict(
        title="iotad model bundle manifest v1",
        json_schema_extra={"description": "The contract between iotad.offline and iotad.stream."},
    )

    format_version: Literal[1] = 1
    kind: Literal["classifier"] = Field(
        default="classifier", description="classifier; a gateway baseline says baseline."
    )
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")]
    version: Annotated[str, Field(pattern=r"^[A-Za-z0-9._+-]+$")]
    created_at: datetime
    task: Literal[2, 8, 34]
    model_kind: Annotated[str, Field(description="rf, rf-compact, lr, ada, perceptron or dnn")]
    classes: list[str] = Field(min_length=2, description="Class names in model output order.")
    category_map: Literal["study", "cic"]
    class_categories: dict[str, str] = Field(
        description="The alert category of every class (for task 8 a class is its category)."
    )
    input: InputSpec
    output: OutputSpec
    decision: DecisionSpec
    opset: int = Field(ge=1)
    files: BundleFiles = BundleFiles()
    sha256: dict[str, Sha256] = Field(description="sha256 of every file but the manifest.")
    metrics: MetricsSummary
    training: TrainingInfo
    parity: ParityResult

    @model_validator(mode="after")
    def _consistent(self) -> BundleManifest:
        missing = [c for c in self.classes if c not in self.class_categories]
        if missing:
            raise ValueError(f"class_categories lacks {missing}")
        unknown = [c for c in self.decision.benign_classes if c not in self.classes]
        if unknown:
            raise ValueError(f"decision.benign_classes names unknown classes {unknown}")
        files = self.files.model_dump().values()
        unhashed = [f for f in files if f not in self.sha256]
        if unhashed:
            raise ValueError(f"sha256 lacks files {unhashed}")
        return self

    @property
    def reference(self) -> str:
        """``name@version``, how logs and the CLI name a bundle."""
        return f"{self.name}@{self.version}"


class ScalerFile(_Part):
    """``scaler.json``: standardisation of every raw feature, ``(x - mean) / scale``."""

    features: list[str] = Field(min_length=1)
    mean: list[float]
    scale: list[float]

    @model_validator(mode="after")
    def _aligned(self) -> ScalerFile:
        if not len(self.features) == len(self.mean) == len(self.scale):
            raise ValueError("features, mean and scale must have the same length")
        if any(s <= 0 for s in self.scale):
            raise ValueError("every scale must be > 0")
        return self


class FeatureMaskFile(_Part):
    """``feature_mask.json``: the features the model uses, in its input order."""

    features: list[str] = Field(min_length=1)


class CanaryFile(_Part):
    """``canary.json``: raw rows that must reproduce recorded outputs before a bundle serves."""

    rows: list[list[float]] = Field(min_length=1)
    expected_classes: list[str]
    expected_scores: list[list[float]]
    atol: Annotated[float, Field(gt=0)] = 1e-4

    @model_validator(mode="after")
    def _aligned(self) -> CanaryFile:
        if not len(self.rows) == len(self.expected_classes) == len(self.expected_scores):
            raise ValueError("rows, expected_classes and expected_scores must align")
        return self


__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "MANIFEST_FILE",
    "BundleFiles",
    "BundleManifest",
    "CanaryFile",
    "DecisionSpec",
    "FeatureMaskFile",
    "InputSpec",
    "MetricsSummary",
    "OutputSpec",
    "ParityResult",
    "ScalerFile",
    "TrainingInfo",
]

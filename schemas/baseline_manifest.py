"""The baseline bundle manifest: a gateway's benign baseline (novelty model), served beside the
classifier.

A baseline bundle is a directory ``models/baselines/<gateway>/<version>/`` with the same files as a
classifier bundle (:mod:`iotad.schemas.manifest`): ``model.onnx`` (input = the scaled, masked
feature vector; output = one anomaly score per row, higher is more unusual), ``scaler.json``,
``feature_mask.json``, ``canary.json`` (expected classes ``anomalous`` / ``normal`` and each row's
score), ``metrics.json``, and this manifest, told apart from a classifier's by ``kind``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iotad.schemas.manifest import BundleFiles, InputSpec, ParityResult, Sha256

#: The canary's expected class of a row at or above the threshold, and of one below it.
ANOMALOUS = "anomalous"
NORMAL = "normal"

#: As in flow messages (``gateway_id``): any 1-128 characters.
GatewayId = Annotated[str, Field(min_length=1, max_length=128)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BaselineOutput(_Part):
    """The ONNX output holding one anomaly score per row."""

    scores: str = Field(description="Name of the ONNX output, shape [N, 1].")
    kind: Literal["anomaly_score"] = "anomaly_score"


class BaselineThreshold(_Part):
    """Where a flow stops being normal for the gateway, and how that was chosen."""

    value: Annotated[float, Field(allow_inf_nan=False)] = Field(
        description="A flow whose anomaly score is at least this is anomalous."
    )
    target_far: Annotated[float, Field(gt=0, lt=1)] = Field(
        description="The false-alert rate on benign flows the threshold was set for."
    )
    held_back_rows: Annotated[int, Field(ge=1)] = Field(
        description="Benign flows, not used for fitting, the threshold was set on."
    )
    held_back_far: Annotated[float, Field(ge=0, le=1)] = Field(
        description="The share of those held-back flows at or above the threshold."
    )
    resolution: Annotated[float, Field(gt=0, le=1)] = Field(
        description="1 / held_back_rows: a target below this cannot be met by measurement; "
        "the threshold is then the largest held-back score."
    )


class BaselineMethod(_Part):
    """The novelty model: the distance to the k-th nearest of the reference benign flows."""

    name: Literal["knn-slog"] = "knn-slog"
    k: Annotated[int, Field(ge=1)]
    reference_rows: Annotated[int, Field(ge=1)]
    description: str = (
        "robust scaling (median, MAD), signed log1p, Euclidean distance to the k-th nearest "
        "reference benign flow"
    )


class BaselineTraining(_Part):
    """What the baseline was learnt from."""

    source: str = Field(description="Where the learning flows came from (files, topic, worker).")
    train_rows: Annotated[int, Field(ge=1)]
    seed: int
    code_version: str
    library_versions: dict[str, str] = Field(default_factory=dict)


class BaselineManifest(_Part):
    """``manifest.json`` of a baseline bundle."""

    model_config = ConfigDict(
        title="iotad baseline bundle manifest v1",
        json_schema_extra={"description": "A gateway's benign baseline (docs/baseline.md)."},
    )

    format_version: Literal[1] = 1
    kind: Literal["baseline"] = "baseline"
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")]
    version: Annotated[str, Field(pattern=r"^[A-Za-z0-9._+-]+$")]
    created_at: datetime
    gateway_id: GatewayId
    input: InputSpec
    output: BaselineOutput
    method: BaselineMethod
    threshold: BaselineThreshold
    opset: int = Field(ge=1)
    files: BundleFiles = BundleFiles()
    sha256: dict[str, Sha256] = Field(description="sha256 of every file but the manifest.")
    training: BaselineTraining
    parity: ParityResult

    @model_validator(mode="after")
    def _hashed(self) -> BaselineManifest:
        unhashed = [f for f in self.files.model_dump().values() if f not in self.sha256]
        if unhashed:
            raise ValueError(f"sha256 lacks files {unhashed}")
        return self

    @property
    def reference(self) -> str:
        """``name@version``, how logs and the CLI name a bundle."""
        return f"{self.name}@{self.version}"


__all__ = [
    "ANOMALOUS",
    "NORMAL",
    "BaselineManifest",
    "BaselineMethod",
    "BaselineOutput",
    "BaselineThreshold",
    "BaselineTraining",
    "GatewayId",
]

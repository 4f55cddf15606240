"""Save and load a :class:`TrainedModel`, so the runner can resume between train and export.

A model directory holds the fitted model — ``estimator.joblib`` (scikit-learn, joblib with light
zlib compression: a fully grown forest's node arrays are mostly zeros) or ``model.keras`` (the
Keras native format) — and ``trained.json`` (kind, task, classes in output order, fit time,
parameters), written last, so a directory without it is an unfinished save.

joblib files are pickles: load only directories this pipeline wrote.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from iotad.errors import ArtifactError
from iotad.offline.artifacts import library_versions
from iotad.offline.types import ModelKind, TrainedModel
from iotad.schemas.labels import Task

logger = logging.getLogger(__name__)

TRAINED_FILE = "trained.json"
SKLEARN_FILE = "estimator.joblib"
KERAS_FILE = "model.keras"
FORMAT_VERSION = 1


class TrainedRecord(BaseModel):
    """``trained.json``: what a saved model is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = FORMAT_VERSION
    kind: ModelKind
    task: Task
    classes: list[str]
    fit_seconds: float
    params: dict[str, Any]
    model_file: str
    library_versions: dict[str, str]


def save_trained(model: TrainedModel, directory: Path) -> None:
    """Write ``model`` into ``directory`` (created if needed; files there are replaced)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / TRAINED_FILE).unlink(missing_ok=True)
    if model.kind is ModelKind.DNN:
        model_file = KERAS_FILE
        model.estimator.save(directory / model_file)
    else:
        import joblib

        model_file = SKLEARN_FILE
        joblib.dump(model.estimator, directory / model_file, compress=1)
    record = TrainedRecord(
        kind=model.kind,
        task=model.task,
        classes=list(model.classes),
        fit_seconds=model.fit_seconds,
        params=json.loads(json.dumps(dict(model.params), default=_plain)),
        model_file=model_file,
        library_versions=library_versions(),
    )
    (directory / TRAINED_FILE).write_text(record.model_dump_json(indent=2))
    logger.info("saved %s %d-class model to %s", model.kind.value, int(model.task), directory)


def load_trained(directory: Path) -> TrainedModel:
    """Read a model written by :func:`save_trained`.

    Raises
    ------
    ArtifactError
        if the directory holds no finished save or its files do not load.
    """
    directory = Path(directory)
    record_path = directory / TRAINED_FILE
    hint = "train the model again (iotad offline run --from train --force)"
    try:
        record = TrainedRecord.model_validate_json(record_path.read_bytes())
    except FileNotFoundError:
        raise ArtifactError(
            f"no saved model in {directory} ({TRAINED_FILE} missing)", hint=hint
        ) from None
    except ValidationError as exc:
        raise ArtifactError(
            f"{record_path} is invalid: {exc.errors()[0]['msg']}", hint=hint
        ) from exc
    model_path = directory / record.model_file
    if not model_path.is_file():
        raise ArtifactError(f"saved model file missing: {model_path}", hint=hint)
    estimator = _load_estimator(record.kind, model_path)
    return TrainedModel(
        kind=record.kind,
        task=record.task,
        estimator=estimator,
        classes=tuple(record.classes),
        fit_seconds=record.fit_seconds,
        params=record.params,
    )


def _load_estimator(kind: ModelKind, path: Path) -> Any:
    if kind is ModelKind.DNN:
        import keras

        return keras.models.load_model(path)
    import joblib

    return joblib.load(path)


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and arrays in model parameters."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"model parameter of type {type(value).__name__} is not JSON-serialisable")


__all__ = [
    "KERAS_FILE",
    "SKLEARN_FILE",
    "TRAINED_FILE",
    "TrainedRecord",
    "load_trained",
    "save_trained",
]

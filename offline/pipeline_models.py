"""The runner's model half: train → evaluate → export per task and model, then the results.

Artifacts (under ``--out/<protocol>/``)::

    train/task<N>/<model>/       the fitted model (model store format) + _manifest.json
    evaluate/task<N>/<model>/    evaluation.json, classification_report.txt, confusion.png
    export/task<N>/<model>/      _manifest.json naming the bundle written
    bundles/task<N>/<model>/<version>/   the bundle (or under --export-to)
    results/                     results.md, results.csv, run.json

A model whose export fails its parity check is reported and the run goes on with the others;
the run then ends with an error naming every failure.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.errors import ModelLoadError
from iotad.offline.artifacts import config_hash, is_current, manifest_sha256, read_manifest
from iotad.offline.pipeline import RunContext, Stage, StageOutcome
from iotad.offline.pipeline_data import PreparedData, TaskData
from iotad.offline.stages.evaluate import evaluation_to_dict, held_out_scores
from iotad.offline.types import ModelEvaluation, ModelKind, TaskDataset, TrainedModel
from iotad.schemas.keys import SigningKey
from iotad.schemas.labels import Task
from iotad.schemas.manifest import MANIFEST_FILE

logger = logging.getLogger(__name__)

EVALUATION_FILE = "evaluation.json"
RUN_FILE = "run.json"


def bundle_root(context: RunContext, paths_base: Path) -> Path:
    """Where bundles go: ``--export-to``, else ``<out>/<protocol>/bundles``."""
    return context.request.export_to or paths_base / "bundles"


def bundle_version(protocol: str, train_sha: str) -> str:
    """A bundle version that names the protocol and the exact trained model."""
    return f"{protocol}-{train_sha[:12]}"


def train_evaluate_export(
    context: RunContext, data: PreparedData, tasks: Sequence[TaskData]
) -> list[str]:
    """Train, evaluate and export every requested model of every task; return export failures."""
    failures: list[str] = []
    for task_data in tasks:
        dataset = task_data.dataset
        if dataset is None:
            continue
        total = context.progress.add_task(
            f"models, task {int(task_data.task)}", total=len(context.request.models)
        )
        for kind in context.request.models:
            train_sha, model = _train(context, data, task_data, dataset, kind)
            if context.runner.wants(Stage.EVALUATE):
                evaluation, evaluate_sha = _evaluate(context, data, dataset, model, kind, train_sha)
                if context.runner.wants(Stage.EXPORT):
                    try:
                        _export(context, data, dataset, model, evaluation, train_sha, evaluate_sha)
                    except ModelLoadError as exc:
                        context.console.error(exc.message, exc.hint)
                        failures.append(f"task {int(task_data.task)} {kind.value}: {exc.message}")
            del model
            context.progress.advance(total)
    return failures


class ModelHandle:
    """A trained model: the one just fitted, or read from its artifact when first needed.

    Stages that are up to date never ask for it, so a resumed run does not load every model
    again, and a model just trained is not read back from disk (a fully grown forest can be
    larger in memory while loading than while training).
    """

    def __init__(self, directory: Path, fitted: TrainedModel | None = None) -> None:
        self._directory = directory
        self._model = fitted
        self._scored: tuple[NDArray[np.float32], float] | None = None

    def get(self) -> TrainedModel:
        """The model (loaded on first use)."""
        if self._model is None:
            self._model = _load_model(self._directory)
        return self._model

    def scored(self, dataset: TaskDataset) -> tuple[NDArray[np.float32], float]:
        """The model's native scores on ``dataset``'s test rows and their time, computed once
        for evaluate and export alike."""
        if self._scored is None:
            self._scored = held_out_scores(self.get(), dataset)
        return self._scored


def _load_model(directory: Path) -> TrainedModel:
    from iotad.offline.model_store import load_trained

    return load_trained(directory)


def _train(
    context: RunContext, data: PreparedData, task_data: TaskData, dataset: TaskDataset,
    kind: ModelKind,
) -> tuple[str, ModelHandle]:  # fmt: skip
    request = context.request
    task = task_data.task
    fitted: list[TrainedModel] = []

    def build(temp: Path) -> StageOutcome:
        from iotad.offline.model_store import save_trained

        started = time.perf_counter()
        model = fit_model(context, dataset, kind)
        fitted.append(model)
        save_trained(model, temp)
        seconds = time.perf_counter() - started
        report = {"fit_seconds": model.fit_seconds, "params": _jsonable(dict(model.params))}
        rows = {"train": len(dataset.y_train), "test": len(dataset.y_test)}
        return StageOutcome(rows, {}, report, request.seed, {"fit": seconds})

    key = f"{request.protocol}/task{int(task)}/{kind.value}"
    directory = data.paths.model(Stage.TRAIN, task, kind.value)
    inputs = {"reduce": task_data.shas["reduce"]}
    config = train_config(context, kind)
    sha = context.runner.run(Stage.TRAIN, key, directory, config, inputs, build)
    return sha, ModelHandle(directory, fitted[0] if fitted else None)


def train_config(context: RunContext, kind: ModelKind) -> str:
    """The config hash of a model's train stage."""
    request = context.request
    model_config = request.keras if kind is ModelKind.DNN else request.sklearn
    return config_hash(
        {
            "model": model_config.model_dump(),
            "kind": kind.value,
            "study_split": context.cfg.study_split.model_dump(),
            "seed": request.seed,
        }
    )


def fit_model(context: RunContext, dataset: TaskDataset, kind: ModelKind) -> TrainedModel:
    """Train one model with the model side's trainers."""
    if kind is ModelKind.DNN:
        from iotad.offline.stages.train_keras import train_keras

        return train_keras(dataset, context.request.keras)
    from iotad.offline.stages.train_sklearn import train_sklearn

    (model,) = train_sklearn(dataset, [kind], context.request.sklearn, context.progress)
    return model


def _evaluate(
    context: RunContext, data: PreparedData, dataset: TaskDataset, model: ModelHandle,
    kind: ModelKind, train_sha: str,
) -> tuple[ModelEvaluation, str]:  # fmt: skip
    from iotad.offline.plots.confusion import plot_confusion
    from iotad.offline.stages.evaluate import evaluate

    def build(temp: Path) -> StageOutcome:
        evaluation = evaluate(dataset, model.get(), model.scored(dataset))
        (temp / EVALUATION_FILE).write_text(json.dumps(evaluation_to_dict(evaluation), indent=2))
        (temp / "classification_report.txt").write_text(evaluation.report_text)
        plot_confusion(evaluation, temp / "confusion.png")
        report = {"accuracy": evaluation.accuracy, "macro_f1": evaluation.macro_f1}
        return StageOutcome({"test": evaluation.test_rows}, {}, report)

    key = f"{context.request.protocol}/task{int(dataset.task)}/{kind.value}"
    directory = data.paths.model(Stage.EVALUATE, dataset.task, kind.value)
    sha = context.runner.run(
        Stage.EVALUATE, key, directory, config_hash({}), {"train": train_sha}, build
    )
    return load_evaluation(directory), sha


def _export(
    context: RunContext, data: PreparedData, dataset: TaskDataset, model: ModelHandle,
    evaluation: ModelEvaluation, train_sha: str, evaluate_sha: str,
) -> None:  # fmt: skip
    from iotad.offline.stages.export_onnx import export_bundle
    from iotad.schemas.bundle import load_bundle

    request = context.request
    signer = request.signer
    version = bundle_version(request.protocol, train_sha)
    kind = evaluation.kind
    dest = bundle_root(context, data.paths.base) / f"task{int(dataset.task)}" / kind.value
    dest = dest / version

    def build(temp: Path) -> StageOutcome:
        if dest.exists():  # the same version is already there: it must still verify
            manifest = load_bundle(dest).manifest
            if signer is not None:
                ensure_signed(dest, signer)
        else:
            expected, _ = model.scored(dataset)
            manifest = export_bundle(
                dataset, model.get(), evaluation, dest, request.export, expected, signer
            )
        report = {
            "bundle": str(dest),
            "reference": manifest.reference,
            "parity": manifest.parity.model_dump(),
            "model_bytes": (dest / manifest.files.model).stat().st_size,
        }
        (temp / "bundle.txt").write_text(f"{dest}\n")
        return StageOutcome({"parity_rows": manifest.parity.rows}, {}, report)

    key = f"{request.protocol}/task{int(dataset.task)}/{kind.value}"
    directory = data.paths.model(Stage.EXPORT, dataset.task, kind.value)
    signing = {} if signer is None else {"signed_by": signer.key_id}
    config = config_hash({"export": request.export.model_dump(), "dest": str(dest), **signing})
    inputs = {"train": train_sha, "evaluate": evaluate_sha}
    context.runner.run(Stage.EXPORT, key, directory, config, inputs, build)


def ensure_signed(bundle: Path, signer: SigningKey) -> None:
    """Sign ``bundle`` with ``signer`` unless it already carries a valid signature by it."""
    from iotad.schemas.signing import SignatureState, check_signature, sign_bundle

    raw = (bundle / MANIFEST_FILE).read_bytes()
    if check_signature(bundle, raw, (signer.public,)).state is not SignatureState.SIGNED:
        sign_bundle(bundle, signer)
        logger.info("signed %s with key %s", bundle, signer.key_id)


def evaluation_from_json(value: dict[str, Any]) -> ModelEvaluation:
    """The inverse of :func:`~iotad.offline.stages.evaluate.evaluation_to_dict`."""
    return ModelEvaluation(
        kind=ModelKind(value["kind"]),
        task=Task(value["task"]),
        protocol=value["protocol"],
        accuracy=float(value["accuracy"]),
        macro_f1=float(value["macro_f1"]),
        per_class=value["per_class"],
        confusion=np.asarray(value["confusion"], dtype=np.int64),
        classes=tuple(value["classes"]),
        test_rows=int(value["test_rows"]),
        fit_seconds=float(value["fit_seconds"]),
        predict_seconds=float(value["predict_seconds"]),
        report_text=value["report_text"],
    )


def load_evaluation(directory: Path) -> ModelEvaluation:
    """Read an evaluate artifact back."""
    return evaluation_from_json(json.loads((directory / EVALUATION_FILE).read_text()))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class EvaluatedModel:
    """A model evaluated on a task's current data, and its bundle if it was exported."""

    evaluation: ModelEvaluation
    bundle: str | None


def collect_evaluations(
    context: RunContext, data: PreparedData, tasks: Sequence[TaskData]
) -> list[EvaluatedModel]:
    """Every model evaluated on the current data of the requested tasks, in task, model order.

    Models from earlier runs count (a run may train a few models at a time), but only when their
    train artifact was made from the task's current ``reduce`` output with the current settings,
    and their evaluation from that very model.
    """
    found = []
    for task_data in tasks:
        reduce_sha = task_data.shas.get("reduce")
        if reduce_sha is None:
            continue
        for kind in ModelKind:
            train_dir = data.paths.model(Stage.TRAIN, task_data.task, kind.value)
            if not is_current(train_dir, train_config(context, kind), {"reduce": reduce_sha}):
                continue
            train_sha = manifest_sha256(train_dir)
            evaluate_dir = data.paths.model(Stage.EVALUATE, task_data.task, kind.value)
            if not is_current(evaluate_dir, config_hash({}), {"train": train_sha}):
                continue
            exported = read_manifest(data.paths.model(Stage.EXPORT, task_data.task, kind.value))
            bundle = None
            if exported is not None and exported.inputs.get("train") == train_sha:
                bundle = str(exported.report["bundle"])
            found.append(EvaluatedModel(load_evaluation(evaluate_dir), bundle))
    return found


def write_results(
    context: RunContext, data: PreparedData, tasks: Sequence[TaskData]
) -> Path | None:
    """Write the protocol's results table (Markdown + CSV) and ``run.json``; return the folder."""
    from iotad.offline.summary import run_record

    evaluated = collect_evaluations(context, data, tasks)
    results = data.paths.results
    staging = results.with_name(".results.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if evaluated:
        from iotad.offline.report import results_table

        table = results_table([e.evaluation for e in evaluated])
        (staging / "results.md").write_text(table.markdown)
        (staging / "results.csv").write_text(table.csv)
    record = run_record(context, data, tasks, evaluated)
    (staging / RUN_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))
    shutil.rmtree(results, ignore_errors=True)
    staging.replace(results)
    context.console.status(f"results written to {results}")
    return results


__all__ = [
    "EVALUATION_FILE",
    "RUN_FILE",
    "bundle_root",
    "bundle_version",
    "EvaluatedModel",
    "ModelHandle",
    "collect_evaluations",
    "evaluation_from_json",
    "fit_model",
    "load_evaluation",
    "train_config",
    "train_evaluate_export",
    "write_results",
]

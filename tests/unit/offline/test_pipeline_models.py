"""The runner's model half, wired to stand-in trainers: stages, skips, bundles and results.

The model side (trainers, evaluation, ONNX export) is tested on its own; here tiny stand-ins with
the same signatures check what the runner does around them: one artifact per model, resuming,
bundles under ``--export-to``, the results table and ``run.json``, and ``iotad offline report``.
"""

import json
import pickle
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from rich.console import Console as RichConsole

from iotad.console import Console
from iotad.offline import pipeline_models
from iotad.offline.config import BalanceConfig, DataConfig
from iotad.offline.pipeline import RunRequest, Stage, run_pipeline
from iotad.offline.summary import write_report
from iotad.offline.types import ModelEvaluation, ModelKind, TaskDataset, TrainedModel
from iotad.schemas.bundle import load_bundle, open_session, write_bundle
from iotad.schemas.labels import Task, category_of_class
from iotad.schemas.manifest import CanaryFile

SMALL = DataConfig(balance=BalanceConfig(targets={2: 200, 8: 100, 34: 50}, max_oversample=5))


def _train(
    dataset: TaskDataset, kinds: Sequence[ModelKind], cfg: Any, progress: Any = None
) -> list[TrainedModel]:
    from sklearn.linear_model import LogisticRegression

    estimator = LogisticRegression(max_iter=300).fit(dataset.x_train, dataset.y_train)
    return [TrainedModel(kinds[0], dataset.task, estimator, tuple(estimator.classes_), 0.1)]


def _evaluate(dataset: TaskDataset, model: TrainedModel) -> ModelEvaluation:
    predicted = model.estimator.predict(dataset.x_test)
    accuracy = float((predicted == dataset.y_test).mean())
    return ModelEvaluation(
        model.kind,
        dataset.task,
        dataset.protocol,
        accuracy,
        accuracy,
        {},
        np.eye(2, dtype=np.int64),
        model.classes,
        len(dataset.y_test),
        0.1,
        0.01,
        "report",
    )


def _export(
    dataset: TaskDataset, model: TrainedModel, evaluation: ModelEvaluation, dest: Path, cfg: Any
) -> Any:
    from skl2onnx import to_onnx

    onnx = to_onnx(model.estimator, dataset.x_test[:1], options={"zipmap": False}, target_opset=17)
    scores = model.estimator.predict_proba(dataset.x_test[:3])
    scaler, mask = dataset.transform.to_files()
    fields = {
        "name": f"{model.kind.value}-task{int(dataset.task)}",
        "version": dest.name,
        "created_at": datetime.now(UTC),
        "task": int(dataset.task),
        "model_kind": model.kind.value,
        "classes": list(model.classes),
        "category_map": dataset.category_map,
        "class_categories": {
            c: category_of_class(c, dataset.task, "study").value for c in model.classes
        },
        "input": {
            "layout": dataset.layout.value,
            "raw_features": list(dataset.transform.raw_features),
            "onnx_input": onnx.graph.input[0].name,
        },
        "output": {"scores": "probabilities", "kind": "probability"},
        "decision": {"benign_classes": []},
        "opset": 17,
        "metrics": {
            "protocol": dataset.protocol,
            "accuracy": evaluation.accuracy,
            "macro_f1": evaluation.macro_f1,
            "test_rows": evaluation.test_rows,
        },
        "training": {
            "protocol": dataset.protocol,
            "data_fingerprint": dataset.data_fingerprint,
            "training_manifest_sha256": dataset.training_manifest_sha256,
            "labels_present": dict(dataset.labels_present),
            "train_rows": len(dataset.y_train),
            "seed": dataset.seed,
            "code_version": "test",
        },
        "parity": {
            "rows": 3,
            "class_agreement": 1.0,
            "max_abs_score_diff": 0.0,
            "atol": 1e-4,
            "passed": True,
        },
    }
    canary = CanaryFile(
        rows=dataset.raw_test[:3].astype(float).tolist(),
        expected_classes=[model.classes[i] for i in scores.argmax(axis=1)],
        expected_scores=scores.tolist(),
    )
    return write_bundle(
        dest, manifest_fields=fields, onnx_model=onnx.SerializeToString(), scaler=scaler,
        feature_mask=mask, canary=canary, metrics={},
    )  # fmt: skip


def _save(model: TrainedModel, directory: Path) -> None:
    (directory / "model.pkl").write_bytes(pickle.dumps(model))


def _load(directory: Path) -> TrainedModel:
    model: TrainedModel = pickle.loads((directory / "model.pkl").read_bytes())  # noqa: S301
    return model


def _table(evaluations: Sequence[ModelEvaluation]) -> Any:
    rows = [f"| {e.kind.value} | {int(e.task)} | {e.accuracy:.3f} |" for e in evaluations]
    return SimpleNamespace(
        markdown="| model | task | accuracy |\n" + "\n".join(rows), csv="model\n"
    )


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    modules = {
        "stages.train_sklearn": SimpleNamespace(train_sklearn=_train),
        "stages.evaluate": SimpleNamespace(evaluate=_evaluate),
        "stages.export_onnx": SimpleNamespace(export_bundle=_export),
        "model_store": SimpleNamespace(save_trained=_save, load_trained=_load),
        "report": SimpleNamespace(results_table=_table),
        "plots.confusion": SimpleNamespace(plot_confusion=lambda e, p: p.write_bytes(b"png")),
    }
    monkeypatch.setattr(pipeline_models, "_model_side", modules.__getitem__)


def _console() -> Console:
    return Console(out=RichConsole(quiet=True), err=RichConsole(quiet=True))


def test_train_evaluate_export_then_report(
    stand_ins: None, data_tree: Path, tmp_path: Path
) -> None:
    out, models = tmp_path / "out", tmp_path / "models"
    for protocol in ("holdout", "study"):
        request = RunRequest(
            data=(data_tree,), out=out, protocol=protocol, tasks=(Task.BINARY, Task.CATEGORY),
            models=(ModelKind.LR, ModelKind.PERCEPTRON), data_cfg=SMALL, export_to=models,
            local_scheduler="threads", command=f"iotad offline run --protocol {protocol}",
        )  # fmt: skip
        summary = run_pipeline(request, _console())
        assert not summary.failures and summary.results == out / protocol / "results"
    bundles = sorted(models.glob("task*/*/*"))
    assert len(bundles) == 8
    for bundle in bundles:
        open_session(load_bundle(bundle))
    run = json.loads((out / "holdout" / "results" / "run.json").read_text())
    assert {m["model"] for m in run["models"]} == {"lr", "perceptron"}
    assert run["data"]["labels_missing"] and run["data"]["layout"] == "cic39"
    assert any("cic46 rows ingested but not trained on: 100" in n for n in run["tasks"][0]["notes"])
    again = run_pipeline(request, _console())
    assert {r.status for r in again.stages} == {"skipped"}
    doc = write_report(out, tmp_path / "docs" / "results.md")
    text = doc.read_text()
    assert "holdout accuracy" in text and "study macro-F1" in text
    assert "Labels with no row in the data" in text
    assert (tmp_path / "docs" / "img" / "holdout-task8-heatmap-before.png").is_file()


def test_to_train_stops_before_evaluation(stand_ins: None, data_tree: Path, tmp_path: Path) -> None:
    request = RunRequest(
        data=(data_tree,), out=tmp_path, tasks=(Task.BINARY,), models=(ModelKind.LR,),
        data_cfg=SMALL, local_scheduler="threads", to_stage=Stage.TRAIN,
    )  # fmt: skip
    summary = run_pipeline(request, _console())
    assert summary.stages[-1].stage is Stage.TRAIN
    assert (tmp_path / "holdout" / "train" / "task2" / "lr" / "model.pkl").is_file()
    assert not (tmp_path / "holdout" / "evaluate").exists()

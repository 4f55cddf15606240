"""The runner's model half: one artifact per model, stop after train, go on from evaluate."""

from pathlib import Path

import pytest
from rich.console import Console as RichConsole

from iotad.console import Console
from iotad.offline.artifacts import read_manifest
from iotad.offline.config import BalanceConfig, DataConfig
from iotad.offline.pipeline import RunRequest, Stage, run_pipeline
from iotad.offline.pipeline_models import evaluation_from_json, load_evaluation
from iotad.offline.stages.evaluate import evaluation_to_dict
from iotad.offline.types import ModelKind
from iotad.schemas.bundle import load_bundle, open_session
from iotad.schemas.labels import Task

SMALL = DataConfig(balance=BalanceConfig(targets={2: 200, 8: 100, 34: 50}, max_oversample=5))


def _console() -> Console:
    return Console(out=RichConsole(quiet=True), err=RichConsole(quiet=True))


def _request(data: Path, out: Path, **changes: object) -> RunRequest:
    fields: dict[str, object] = {
        "data": (data,), "out": out, "tasks": (Task.CATEGORY,), "models": (ModelKind.LR,),
        "data_cfg": SMALL, "local_scheduler": "threads",
    }  # fmt: skip
    fields.update(changes)
    return RunRequest(**fields)  # type: ignore[arg-type]


def test_stop_after_train_then_go_on_from_evaluate(data_tree: Path, tmp_path: Path) -> None:
    summary = run_pipeline(_request(data_tree, tmp_path, to_stage=Stage.TRAIN), _console())
    assert summary.stages[-1].stage is Stage.TRAIN and summary.results is None
    train = read_manifest(tmp_path / "holdout" / "train" / "task8" / "lr")
    balance = read_manifest(tmp_path / "holdout" / "balance" / "task8")
    assert train is not None and balance is not None
    assert train.rows["train"] == balance.rows["balanced"] > 0
    assert not (tmp_path / "holdout" / "evaluate").exists()

    summary = run_pipeline(_request(data_tree, tmp_path, from_stage=Stage.EVALUATE), _console())
    status = {r.stage: r.status for r in summary.stages}
    assert status[Stage.TRAIN] == "reused" and status[Stage.EXPORT] == "ran"
    evaluation = load_evaluation(tmp_path / "holdout" / "evaluate" / "task8" / "lr")
    as_json = evaluation_to_dict(evaluation)
    assert evaluation_to_dict(evaluation_from_json(as_json)) == as_json
    (bundle,) = (tmp_path / "holdout" / "bundles" / "task8" / "lr").iterdir()
    assert bundle.name.startswith("holdout-")
    open_session(load_bundle(bundle))
    assert (tmp_path / "holdout" / "results" / "results.md").is_file()


def test_an_up_to_date_run_loads_no_model(
    data_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_pipeline(_request(data_tree, tmp_path), _console())
    from iotad.offline import model_store

    def refuse(directory: Path) -> None:
        raise AssertionError(f"loaded {directory}")

    monkeypatch.setattr(model_store, "load_trained", refuse)
    summary = run_pipeline(_request(data_tree, tmp_path), _console())
    assert {r.status for r in summary.stages} == {"skipped"}

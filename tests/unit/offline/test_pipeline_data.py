"""The runner's data half: stages run once, resume, honour --from/--to/--force, write manifests."""

import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console as RichConsole

from iotad.console import Console
from iotad.errors import ArtifactError
from iotad.offline.artifacts import read_manifest
from iotad.offline.config import BalanceConfig, DataConfig
from iotad.offline.pipeline import RunRequest, Stage, run_pipeline
from iotad.schemas.labels import Task

SMALL = DataConfig(balance=BalanceConfig(targets={2: 400, 8: 200, 34: 100}, max_oversample=5))


def _console() -> Console:
    return Console(out=RichConsole(file=None, quiet=True), err=RichConsole(quiet=True))


def _request(tree: Path, out: Path, **changes: object) -> RunRequest:
    fields: dict[str, object] = {
        "data": (tree,),
        "out": out,
        "tasks": (Task.BINARY, Task.CATEGORY),
        "to_stage": Stage.REDUCE,
        "data_cfg": SMALL,
        "local_scheduler": "threads",
    }
    fields.update(changes)
    return RunRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def finished(data_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    summary = run_pipeline(_request(data_tree, out), _console())
    assert all(r.status == "ran" for r in summary.stages)
    return out


@pytest.fixture
def own_run(finished: Path, tmp_path: Path) -> Path:
    """A copy of the finished run for a test that re-runs stages (the module's run stays as
    it is, whatever order the tests run in)."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


def test_every_stage_writes_a_manifest(finished: Path) -> None:
    expected = [
        "ingest", "clean", "holdout/split", "holdout/variance", "holdout/scale",
        "holdout/balance/task2", "holdout/reduce/task2", "holdout/balance/task8",
        "holdout/reduce/task8",
    ]  # fmt: skip
    for relative in expected:
        manifest = read_manifest(finished / relative)
        assert manifest is not None, relative
        assert manifest.code_version and manifest.library_versions["dask-ml"] != "absent"
    clean = read_manifest(finished / "clean")
    assert clean is not None and clean.inputs == {"ingest": _sha(finished / "ingest")}
    ingest = read_manifest(finished / "ingest")
    assert ingest is not None and ingest.rows == {"cic39": 5 * 400 + 600, "cic46": 100}
    assert (finished / "holdout/reduce/task8/heatmap_before.png").stat().st_size > 1000
    balance = read_manifest(finished / "holdout/balance/task8")
    assert balance is not None and balance.report["target"] == 200


def _sha(directory: Path) -> str:
    from iotad.offline.artifacts import manifest_sha256

    return manifest_sha256(directory)


def test_a_second_run_skips_everything(data_tree: Path, finished: Path) -> None:
    before = _sha(finished / "holdout/reduce/task8")
    summary = run_pipeline(_request(data_tree, finished), _console())
    assert {r.status for r in summary.stages} == {"skipped"}
    assert _sha(finished / "holdout/reduce/task8") == before


def test_a_changed_config_reruns_that_stage_and_what_follows(
    data_tree: Path, own_run: Path
) -> None:
    changed = DataConfig(balance=BalanceConfig(targets={2: 300, 8: 150, 34: 100}, max_oversample=5))
    summary = run_pipeline(_request(data_tree, own_run, data_cfg=changed), _console())
    ran = {(r.stage.value, r.key) for r in summary.stages if r.status == "ran"}
    assert ran == {
        ("balance", "holdout/task2"), ("reduce", "holdout/task2"),
        ("balance", "holdout/task8"), ("reduce", "holdout/task8"),
    }  # fmt: skip


def test_from_to_force_reruns_a_slice(data_tree: Path, own_run: Path) -> None:
    request = _request(
        data_tree, own_run, from_stage=Stage.BALANCE, to_stage=Stage.BALANCE, force=True,
        tasks=(Task.CATEGORY,),
    )  # fmt: skip
    summary = run_pipeline(request, _console())
    status = {(r.stage.value, r.key): r.status for r in summary.stages}
    assert status[("balance", "holdout/task8")] == "ran"
    assert status[("scale", "holdout/scale")] == "reused"
    assert ("reduce", "holdout/task8") not in status


def test_from_needs_the_earlier_artifacts(data_tree: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="missing or unfinished"):
        run_pipeline(_request(data_tree, tmp_path, from_stage=Stage.SCALE), _console())


def test_study_protocol_shares_ingest_and_clean(data_tree: Path, own_run: Path) -> None:
    summary = run_pipeline(_request(data_tree, own_run, protocol="study"), _console())
    status = {(r.stage.value, r.key): r.status for r in summary.stages}
    assert status[("ingest", "ingest")] == "skipped" and status[("clean", "clean")] == "skipped"
    assert status[("variance", "study/variance")] == "ran"
    assert not any(stage == "split" for stage, _ in status)
    scale = read_manifest(own_run / "study" / "scale")
    clean = read_manifest(own_run / "clean")
    assert scale is not None and clean is not None
    assert scale.rows["rows"] == clean.rows["rows"], "study scales every row"
    report = json.loads((own_run / "ingest" / "_manifest.json").read_text())["report"]
    assert report["rows_by_layout"]["cic46"] == 100

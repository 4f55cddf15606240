"""`iotad offline run|report|synth` through the real CLI entry point."""

import io
from pathlib import Path

import pytest
from rich.console import Console as RichConsole

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.offline.artifacts import read_manifest


def _console() -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    console = Console(
        out=RichConsole(file=out, width=200, force_terminal=False),
        err=RichConsole(file=err, width=200, force_terminal=False),
    )
    return console, out, err


def test_run_to_reduce_then_resume(
    data_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOTAD_OFFLINE__LOCAL_SCHEDULER", "threads")
    args = ["--log-level", "WARNING", "offline", "run", "--data", str(data_tree / "per_class"),
            "--data", str(data_tree / "ciciot2023_merged39_sample.csv.gz"), "--out", str(tmp_path),
            "--tasks", "2,8", "--to", "reduce"]  # fmt: skip
    console, out, _ = _console()
    assert main(args, console) == ExitCode.OK
    assert "9 stage(s) ran" in out.getvalue()
    assert read_manifest(tmp_path / "holdout" / "reduce" / "task8") is not None
    console, out, _ = _console()
    assert main(args, console) == ExitCode.OK
    assert "0 stage(s) ran, 9 reused" in out.getvalue()


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    for bad in (["--tasks", "3"], ["--models", "svm"], ["--from", "nowhere"]):
        console, _, err = _console()
        args = ["offline", "run", "--data", str(tmp_path), "--out", str(tmp_path), *bad]
        assert main(args, console) == ExitCode.USAGE, bad
        assert bad[1] in err.getvalue()


def test_missing_data_is_a_data_error(tmp_path: Path) -> None:
    console, _, err = _console()
    code = main(
        ["offline", "run", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)], console
    )
    assert code == ExitCode.DATA and "data path not found" in err.getvalue()


def test_report_without_results_says_what_to_run(tmp_path: Path) -> None:
    console, _, err = _console()
    assert main(["offline", "report", "--out", str(tmp_path)], console) == ExitCode.ARTIFACT
    assert "iotad offline run" in err.getvalue()


def test_synth_writes_labelled_files(tmp_path: Path) -> None:
    console, out, _ = _console()
    args = ["offline", "synth", "--rows", "2000", "--files", "2", "--out", str(tmp_path)]
    assert main(args, console) == ExitCode.OK
    assert "wrote 2000 synthetic rows in 2 files" in out.getvalue()
    assert (tmp_path / "synthetic-part-00001.csv").is_file()


def test_a_forest_over_the_export_cap_is_refused_and_the_run_goes_on(
    data_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOTAD_OFFLINE__LOCAL_SCHEDULER", "threads")
    monkeypatch.setenv("IOTAD_OFFLINE__TARGET_SCALE", "0.01")
    monkeypatch.setenv("IOTAD_OFFLINE__MAX_FOREST_ONNX_MB", "0.001")
    args = ["--log-level", "WARNING", "offline", "run", "--data", str(data_tree / "per_class"),
            "--out", str(tmp_path), "--tasks", "8", "--models", "rf-compact,lr"]  # fmt: skip
    console, _, err = _console()
    assert main(args, console) != ExitCode.OK
    assert "over the export cap of 0.0 MB" in err.getvalue()
    assert "IOTAD_OFFLINE__MAX_FOREST_ONNX_MB" in err.getvalue()
    bundles = tmp_path / "holdout" / "bundles" / "task8"
    assert any((bundles / "lr").iterdir())
    assert not (bundles / "rf-compact").exists()

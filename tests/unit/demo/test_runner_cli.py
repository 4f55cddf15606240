"""The demo's plumbing that needs no broker: settings per run, run dirs, phases, signals, CLI."""

from __future__ import annotations

import io
import os
import signal
import threading
from pathlib import Path

import pytest
from rich.console import Console as RichConsole

from iotad.cli.main import main
from iotad.console import Console
from iotad.demo import broker_setup
from iotad.demo.runner import (
    DemoRequest,
    DemoRun,
    Phases,
    demo_settings,
    new_run_dir,
    stop_on_signals,
)
from iotad.errors import BrokerError, ExitCode
from iotad.settings import load_settings


def _console() -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(RichConsole(file=out, width=200), RichConsole(file=err, width=200)), out, err


def test_demo_settings_give_the_run_its_own_worker_and_topics(tmp_path: Path) -> None:
    base = load_settings(overrides={"demo": {"partitions": 3}})
    own = demo_settings(base, "127.0.0.1:1234", tmp_path, "abc", own_topics=True)
    assert own.kafka.bootstrap_servers == "127.0.0.1:1234"
    assert own.topics.flows == base.topics.flows and own.topics.partitions == 3
    assert own.stream.state_dir == tmp_path / "worker-state"
    assert own.stream.app_id == "iotad-demo-abc" and own.stream.web_port != base.stream.web_port
    shared = demo_settings(base, "h:1", tmp_path, "abc", own_topics=False)
    assert shared.topics.alerts == f"{base.topics.alerts}.abc"
    assert shared.topics.models == f"{base.topics.models}.abc"


def test_run_dirs_never_collide(tmp_path: Path) -> None:
    first, second = new_run_dir(tmp_path), new_run_dir(tmp_path)
    assert first != second and first.is_dir() and second.is_dir()
    assert second.name.startswith(first.name)


def test_phases_are_timed_in_order() -> None:
    phases = Phases()
    with phases.timed("broker"):
        pass
    with pytest.raises(RuntimeError), phases.timed("worker"):
        raise RuntimeError("boom")
    totals = phases.with_total()
    assert list(totals) == ["broker", "worker", "total"]
    assert totals["total"] >= totals["broker"] >= 0


def test_sigterm_and_sigint_set_the_stop_event() -> None:
    console, _, err = _console()
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop, console):
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(2)
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C does not wait
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before
    assert "SIGTERM: stopping the demo" in err.getvalue()


def test_docker_without_an_engine_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        broker_setup, "docker_engine_problem", lambda: "Cannot connect to the Docker daemon"
    )
    with pytest.raises(BrokerError, match="needs a running Docker engine") as refused:
        broker_setup.start_docker("iotad-demo-test", 5.0)
    assert refused.value.hint is not None and "without --docker" in refused.value.hint


def test_cli_help_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    console, out, err = _console()
    assert main(["demo", "--help"], console=console) == ExitCode.OK
    monkeypatch.chdir(tmp_path)
    console, out, err = _console()
    code = main(["demo", "--docker", "--bootstrap", "h:1"], console=console)
    assert code == ExitCode.CONFIG and "either --docker or --bootstrap" in err.getvalue()
    console, out, err = _console()
    code = main(["demo", "--run-dir", str(tmp_path / "run")], console=console)
    assert code == ExitCode.MODEL
    assert (
        "defaults.json is missing" in err.getvalue() and "build_default_bundles" in err.getvalue()
    )


def test_a_relative_run_dir_becomes_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The broker and the worker run in other working directories: they need absolute paths.
    monkeypatch.chdir(tmp_path)
    console, _, _ = _console()
    run = DemoRun(DemoRequest(load_settings(), run_dir=Path("var/demo/x")), console)
    assert run.run_dir == tmp_path / "var" / "demo" / "x" and run.run_dir.is_dir()
    default = DemoRun(DemoRequest(load_settings(overrides={"demo": {"run_root": "runs"}})), console)
    assert default.run_dir.is_absolute() and default.run_dir.parent == tmp_path / "runs"

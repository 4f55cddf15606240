"""The CLI shows user text as it is: never as Rich markup, never as a traceback for bad settings."""

from __future__ import annotations

import io
import typing
from pathlib import Path

import pytest
from rich.console import Console as RichConsole

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ConfigError, ExitCode
from iotad.settings import ModelName, load_settings

MARKUP_LIKE = "/data/[/old]/[bold red]x[/]"


def _console() -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(RichConsole(file=out, width=300), RichConsole(file=err, width=300)), out, err


def test_console_messages_are_shown_literally() -> None:
    console, _, err = _console()
    console.status(MARKUP_LIKE)
    console.warn(MARKUP_LIKE)
    console.error(MARKUP_LIKE, hint=f"look in {MARKUP_LIKE}")
    lines = err.getvalue().splitlines()
    assert len(lines) == 4 and all(MARKUP_LIKE in line for line in lines)


@pytest.mark.parametrize("traceback", [False, True])
def test_an_error_naming_a_markup_like_path_is_displayed(traceback: bool, tmp_path: Path) -> None:
    console, _, err = _console()
    missing = tmp_path / "[/old]" / "iotad.toml"
    flags = ["--traceback"] if traceback else []
    code = main([*flags, "--config", str(missing), "kafka", "status"], console)
    assert code is ExitCode.CONFIG
    assert f"error: config file not found: {missing}" in err.getvalue()
    assert ("Traceback (most recent call last)" in err.getvalue()) is traceback


def test_a_bad_offline_model_is_a_config_error_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IOTAD_OFFLINE__MODELS", '["rf", "bogus"]')
    with pytest.raises(ConfigError, match=r"offline\.models\.1: .*'rf-compact'.*got 'bogus'"):
        load_settings()
    console, _, err = _console()
    assert main(["offline", "run", "--data", str(tmp_path)], console) is ExitCode.CONFIG
    assert "offline.models" in err.getvalue() and "Traceback" not in err.getvalue()


def test_the_model_names_of_the_settings_are_the_pipelines_model_kinds() -> None:
    from iotad.offline.types import ModelKind

    assert set(typing.get_args(ModelName)) == {k.value for k in ModelKind}
    with pytest.raises(ConfigError, match="offline.models"):
        load_settings(overrides={"offline": {"models": []}})

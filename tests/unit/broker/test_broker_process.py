"""Jar resolution, start failures and the state file, with stand-in `mvn` and `java` scripts."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import psutil
import pytest

from iotad.broker import free_port
from iotad.broker.jars import jars_complete, marker_path, output_tail, resolve_jars
from iotad.broker.process import broker_status, read_state, start_broker, stop_broker
from iotad.broker.types import BrokerPaths, BrokerState
from iotad.errors import BrokerError
from iotad.settings import BrokerSettings

FAKE_MVN_OK = """#!/bin/sh
echo run >> "$CALLS"
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}";; esac
done
touch "$out/kafka_2.13-3.9.1.jar" "$out/kafka-clients-3.9.1.jar"
"""

FAKE_MVN_FAIL = """#!/bin/sh
echo "[ERROR] Failed to collect dependencies for io.iotad:iotad-local-kafka"
echo "[ERROR] Could not find artifact org.apache.kafka:kafka_2.13:jar:0.0.0" >&2
exit 1
"""

# Formats storage fine, then dies on start like a broker with a broken config would.
FAKE_JAVA_DIES = """#!/bin/sh
case "$*" in
  *StorageTool*) mkdir -p "$KRAFT" && touch "$KRAFT/meta.properties"; exit 0;;
esac
echo "ERROR Exiting Kafka due to fatal exception: boom"
exit 3
"""


def _tool(folder: Path, name: str, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of stand-in tools, the only one on PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("touch", "mkdir"):
        found = shutil.which(name)
        assert found is not None
        (folder / name).symlink_to(found)
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("CALLS", str(tmp_path / "calls"))
    return folder


def _settings(tmp_path: Path, **extra: object) -> BrokerSettings:
    return BrokerSettings.model_validate(
        {
            "home": tmp_path / "home",
            "data_dir": tmp_path / "data",
            "port": free_port(),
            "controller_port": free_port(),
            "start_timeout_s": 20,
            **extra,
        }
    )


def test_resolves_once_then_reuses_the_complete_folder(bin_dir: Path, tmp_path: Path) -> None:
    _tool(bin_dir, "mvn", FAKE_MVN_OK)
    settings = _settings(tmp_path)
    assert not jars_complete(settings)
    libs = resolve_jars(settings)
    assert (libs / "kafka_2.13-3.9.1.jar").is_file()
    assert orjson.loads(marker_path(settings).read_bytes())["jars"] == [
        "kafka-clients-3.9.1.jar",
        "kafka_2.13-3.9.1.jar",
    ]
    assert resolve_jars(settings) == libs
    assert (tmp_path / "calls").read_text().count("run") == 1
    assert not list(libs.parent.glob("libs.partial.*"))


def test_maven_failure_shows_its_output_and_leaves_nothing_complete(
    bin_dir: Path, tmp_path: Path
) -> None:
    _tool(bin_dir, "mvn", FAKE_MVN_FAIL)
    settings = _settings(tmp_path)
    with pytest.raises(BrokerError, match="Could not find artifact") as info:
        resolve_jars(settings)
    assert "exit code 1" in info.value.message
    assert not jars_complete(settings)
    assert not settings.libs_dir.exists()
    assert not list(settings.libs_dir.parent.glob("libs.partial.*"))


def test_missing_tools_are_named(bin_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="`mvn` is not on PATH"):
        resolve_jars(_settings(tmp_path))
    with pytest.raises(BrokerError, match="`java` is not on PATH"):
        start_broker(_settings(tmp_path))


def test_broker_exiting_during_start_shows_its_log(
    bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tool(bin_dir, "mvn", FAKE_MVN_OK)
    _tool(bin_dir, "java", FAKE_JAVA_DIES)
    monkeypatch.setenv("KRAFT", str(tmp_path / "data" / "kraft"))
    settings = _settings(tmp_path)
    with pytest.raises(BrokerError, match="exited with code 3") as info:
        start_broker(settings)
    assert "fatal exception: boom" in info.value.message
    assert read_state(BrokerPaths(tmp_path / "data")) is None


def test_status_of_a_dead_or_reused_pid_is_stale(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    paths = BrokerPaths(settings.resolved_data_dir)
    paths.create()
    assert broker_status(settings).running is False
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = psutil.Process()
    for pid, create_time in ((dead.pid, 0.0), (me.pid, me.create_time() - 100)):
        state = BrokerState(
            pid, create_time, "127.0.0.1", 1, 2, 0.0, "3.9.1", paths.data_dir, Path()
        )
        paths.state_file.write_bytes(orjson.dumps(state.to_json()))
        status = broker_status(settings)
        assert (status.running, status.stale) == (False, True)
    assert stop_broker(settings) is None  # never signals a process it did not start
    assert not paths.state_file.exists()


def test_unreadable_state_file_is_reported(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    paths = BrokerPaths(settings.resolved_data_dir)
    paths.create()
    paths.state_file.write_text("{not json")
    with pytest.raises(BrokerError, match="unreadable"):
        broker_status(settings)


def test_output_tail_keeps_last_non_empty_lines() -> None:
    text = "\n".join(f"line {i}" for i in range(100)) + "\n\n"
    assert output_tail(text, lines=3) == "line 97\nline 98\nline 99"
    assert output_tail("") == "(no output)"

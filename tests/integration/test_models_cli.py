"""`iotad models list|show|verify|promote|rollback` as an operator runs them."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import orjson
import pytest
from rich.console import Console as RichConsole
from support.bundles import make_tiny_bundle
from support.kafka import IsolatedSettings, consume_all
from support.signing import suite_public_key, suite_signer
from support.worker import settings_env

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.control import ControlAction, ModelControl
from iotad.settings import Settings
from iotad.stream.state import ActiveBundleStore


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    make_tiny_bundle(root / "2" / "tiny-lr" / "1", version="1")
    make_tiny_bundle(root / "2" / "tiny-lr" / "2", version="2", seed=1)
    broken = root / "2" / "tiny-lr" / "3-broken"
    shutil.copytree(root / "2" / "tiny-lr" / "2", broken)
    (broken / "model.onnx").write_bytes(b"not onnx")
    (root / "junk").mkdir()
    (root / "junk" / "manifest.json").write_text("{}")
    return root


def run(
    args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[ExitCode, str, str]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=RichConsole(file=out, width=200), err=RichConsole(file=err, width=200))
    return main(args, console=console), out.getvalue(), err.getvalue()


def test_list_show_verify(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "IOTAD_STREAM__STATE_DIR": str(tmp_path),
        "IOTAD_STREAM__TRUSTED_KEYS": str(suite_public_key()),
    }
    code, out, _ = run(["models", "list", str(models_dir), "--json"], env, monkeypatch)
    assert code == ExitCode.OK
    rows = {Path(r["path"]).name: r for r in orjson.loads(out)}
    assert rows["1"]["version"] == "1" and rows["2"]["task"] == 2
    assert "invalid manifest" in rows["junk"]["problem"]

    code, out, _ = run(
        ["models", "show", str(models_dir / "2/tiny-lr/2"), "--json"], env, monkeypatch
    )
    facts = orjson.loads(out)
    assert code == ExitCode.OK and facts["version"] == "2" and facts["layout"] == "cic39"

    code, out, _ = run(["models", "verify", str(models_dir / "2/tiny-lr/1")], env, monkeypatch)
    assert code == ExitCode.OK and "OK tiny-lr@1" in out
    assert f"signed by key {suite_signer().key_id}" in out
    code, _, err = run(
        ["models", "verify", str(models_dir / "2/tiny-lr/3-broken")], env, monkeypatch
    )
    assert code == ExitCode.MODEL and "sha256" in err  # the file no longer matches its manifest


@pytest.mark.kafka
def test_promote_and_rollback_without_workers(
    models_dir: Path, isolated_settings: IsolatedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Settings = isolated_settings()
    env = settings_env(settings)
    v1, v2 = models_dir / "2/tiny-lr/1", models_dir / "2/tiny-lr/2"
    broken = models_dir / "2/tiny-lr/3-broken"
    assert run(["models", "promote", str(v1), "--wait", "0"], env, monkeypatch)[0] == ExitCode.OK
    assert run(["models", "promote", str(v2), "--wait", "1"], env, monkeypatch)[0] == ExitCode.OK
    code, _, err = run(["models", "promote", str(broken), "--wait", "0"], env, monkeypatch)
    assert code == ExitCode.MODEL and "sha256" in err  # verified locally first: not promoted
    code, out, _ = run(["models", "list", str(models_dir)], env, monkeypatch)
    assert "*" in next(line for line in out.splitlines() if "tiny-lr@2" in line)

    assert run(["models", "rollback", "--wait", "0"], env, monkeypatch)[0] == ExitCode.OK
    store = ActiveBundleStore(settings.stream.state_dir)
    active = store.read().active
    assert active is not None and active.model.version == "1"
    code, _, err = run(["models", "rollback", "--wait", "0"], env, monkeypatch)
    assert code == ExitCode.CONFIG and "nothing to roll back to" in err

    events = [
        ModelControl.model_validate_json(v)
        for _, v in consume_all(
            settings.kafka.bootstrap_servers, settings.topics.models, expected=3
        )
    ]
    assert [e.action for e in events] == [ControlAction.PROMOTE] * 2 + [ControlAction.ROLLBACK]
    assert [e.model.version for e in events if e.model] == ["1", "2", "1"]
    assert Path(events[0].bundle_path) == v1.resolve()
    assert json.loads(store.path.read_text())["history"] == []

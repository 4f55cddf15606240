"""The worker's signature policy: which bundles load, what it logs and shows, what it refuses."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

import pytest
from support.bundles import make_tiny_bundle
from support.signing import make_key, suite_public_key, suite_signer

from iotad.errors import ConfigError, ModelLoadError
from iotad.schemas.control import ControlAction, ModelControl
from iotad.schemas.keys import load_signing_key
from iotad.schemas.signing import SignatureState, sign_bundle
from iotad.settings import Settings, StreamSettings, child_environment, load_settings
from iotad.stream.control_listener import handle_request
from iotad.stream.loader import load_model, startup_model
from iotad.stream.model_control import control_event, promote_bundle
from iotad.stream.runtime import WorkerRuntime
from iotad.stream.state import ActiveBundleStore


@pytest.fixture(scope="module")
def unsigned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("unsigned") / "bundle"
    make_tiny_bundle(dest, version="u", signed=False)
    return dest


def _settings(tmp_path: Path, **stream: object) -> Settings:
    base = {"state_dir": str(tmp_path), "trusted_keys": [str(suite_public_key())]}
    return load_settings(
        overrides={"kafka": {"bootstrap_servers": "127.0.0.1:9"}, "stream": {**base, **stream}}
    )


def test_a_signed_bundle_loads_and_shows_its_key(bundles: dict[str, Path], tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    loaded = load_model(bundles["binary-v1"], settings.stream)
    assert loaded.signed_by == suite_signer().key_id
    runtime = WorkerRuntime.create(settings, loaded)
    text = runtime.metrics.exposition().decode()
    assert f'signed_by="{suite_signer().key_id}"' in text
    assert "iotad_model_unsigned 0.0" in text


def test_unsigned_bundles_are_refused_unless_allowed_and_then_loudly(
    unsigned: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ModelLoadError, match="unsigned"):
        load_model(unsigned, _settings(tmp_path).stream)
    with pytest.raises(ModelLoadError, match="unsigned"):
        load_model(unsigned, StreamSettings(state_dir=tmp_path))  # no key configured at all
    settings = _settings(tmp_path, allow_unsigned_bundles=True)
    with caplog.at_level(logging.WARNING, logger="iotad.stream.loader"):
        loaded = load_model(unsigned, settings.stream)
    assert loaded.signed_by is None and loaded.signature.state is SignatureState.UNSIGNED
    assert any("UNSIGNED BUNDLE ACCEPTED" in r.getMessage() for r in caplog.records)
    text = WorkerRuntime.create(settings, loaded).metrics.exposition().decode()
    assert "iotad_model_unsigned 1.0" in text and 'signed_by="unsigned"' in text


def test_a_missing_trusted_key_file_stops_the_start_and_refuses_swaps(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    settings = _settings(tmp_path, trusted_keys=[str(tmp_path / "gone.pub")])
    with pytest.raises(ConfigError, match="trusted public key not found"):
        startup_model(settings.stream, bundles["binary-v1"])
    with pytest.raises(ModelLoadError, match="cannot check the signature"):
        load_model(bundles["binary-v1"], settings.stream)


def _answer(runtime: WorkerRuntime, request: ModelControl) -> ModelControl:
    replies: list[ModelControl] = []

    async def reply(event: ModelControl) -> None:
        replies.append(event)

    asyncio.run(handle_request(request, runtime, reply))
    (answer,) = replies
    return answer


def test_the_worker_refuses_unsigned_and_foreign_bundles_and_keeps_serving(
    bundles: dict[str, Path], unsigned: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    runtime = WorkerRuntime.create(settings, load_model(bundles["binary-v1"], settings.stream))
    answer = _answer(runtime, control_event(ControlAction.PROMOTE, unsigned, model=None))
    assert answer.action is ControlAction.REFUSED and "unsigned" in (answer.reason or "")
    foreign = tmp_path / "foreign"
    shutil.copytree(bundles["binary-v2"], foreign)
    sign_bundle(foreign, load_signing_key(make_key("rogue")[0]))
    answer = _answer(runtime, control_event(ControlAction.PROMOTE, foreign, model=None))
    assert answer.action is ControlAction.REFUSED and "not trusted" in (answer.reason or "")
    assert runtime.slot.current.manifest.version == "1"
    text = runtime.metrics.exposition().decode()
    assert 'iotad_model_swaps_total{outcome="refused"} 2.0' in text
    answer = _answer(
        runtime, control_event(ControlAction.PROMOTE, bundles["binary-v2"], model=None)
    )
    assert answer.action is ControlAction.ACTIVATED  # a signed bundle still swaps in


def test_promote_refuses_an_unsigned_bundle_before_publishing(
    unsigned: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)  # its broker address is closed: nothing may be sent
    with pytest.raises(ModelLoadError, match="unsigned"):
        promote_bundle(settings, unsigned, wait_s=0)
    assert ActiveBundleStore(settings.stream.state_dir).read().active is None


def test_trusted_keys_reach_a_child_worker_and_parse_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [tmp_path / "a:odd name.pub", tmp_path / "ring"]
    settings = _settings(tmp_path, trusted_keys=[str(k) for k in keys])
    env = child_environment(settings)
    for key, value in env.items():
        if key.startswith("IOTAD_"):
            monkeypatch.setenv(key, value)
    assert load_settings().stream.trusted_keys == tuple(keys)  # a JSON list: ':' survives
    monkeypatch.setenv("IOTAD_STREAM__TRUSTED_KEYS", f"/k/a.pub{os.pathsep}/k/b.pub")
    assert load_settings().stream.trusted_keys == (Path("/k/a.pub"), Path("/k/b.pub"))
    monkeypatch.setenv("IOTAD_STREAM__TRUSTED_KEYS", "/k/only.pub")
    assert load_settings().stream.trusted_keys == (Path("/k/only.pub"),)

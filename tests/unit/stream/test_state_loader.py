"""The promoted-bundle state file and which model a worker starts with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.signing import suite_public_key

from iotad.errors import ArtifactError, ConfigError, ModelLoadError
from iotad.schemas.messages import ModelRef
from iotad.settings import StreamSettings
from iotad.stream.loader import load_model, startup_model
from iotad.stream.state import ActiveBundleStore, BundleRecord


def _record(path: Path, version: str = "1") -> BundleRecord:
    return BundleRecord(
        path=str(path), model=ModelRef(name="m", version=version, sha256="a" * 64),
        promoted_at_ms=1,
    )  # fmt: skip


def test_promote_and_rollback(tmp_path: Path) -> None:
    store = ActiveBundleStore(tmp_path / "state")
    assert store.read().active is None
    store.promote(_record(tmp_path / "a", "1"))
    state = store.promote(_record(tmp_path / "b", "2"))
    assert state.active is not None and state.active.model.version == "2"
    assert [r.model.version for r in state.history] == ["1"]
    assert store.rollback().model.version == "1"
    assert store.read().history == []
    with pytest.raises(ConfigError, match="nothing to roll back to"):
        store.rollback()


def test_corrupt_state_file_is_reported(tmp_path: Path) -> None:
    store = ActiveBundleStore(tmp_path)
    store.path.write_text("{not json")
    with pytest.raises(ArtifactError, match="not a valid bundle state file"):
        store.read()


def _settings(tmp_path: Path, bundle: Path | None = None) -> StreamSettings:
    return StreamSettings(
        state_dir=tmp_path / "state", bundle=bundle, trusted_keys=(suite_public_key(),)
    )


def test_no_model_anywhere_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no model bundle to serve") as info:
        startup_model(_settings(tmp_path))
    assert "--bundle" in (info.value.hint or "")


def test_configured_bundle_is_used(tmp_path: Path, bundles: dict[str, Path]) -> None:
    loaded = startup_model(_settings(tmp_path, bundles["binary-v1"]))
    assert loaded.manifest.version == "1"


def test_promoted_bundle_wins_and_a_broken_one_falls_back(
    tmp_path: Path, bundles: dict[str, Path]
) -> None:
    settings = _settings(tmp_path)
    store = ActiveBundleStore(settings.state_dir)
    store.promote(_record(bundles["binary-v2"], "2"))
    assert startup_model(settings, bundles["binary-v1"]).manifest.version == "2"
    store.promote(_record(tmp_path / "missing", "3"))
    assert startup_model(settings, bundles["binary-v1"]).manifest.version == "2"


def test_every_candidate_broken_names_each_reason(tmp_path: Path) -> None:
    settings = _settings(tmp_path, tmp_path / "nope")
    ActiveBundleStore(settings.state_dir).promote(_record(tmp_path / "gone"))
    with pytest.raises(ModelLoadError) as info:
        startup_model(settings)
    assert "gone" in info.value.message and "nope" in info.value.message


def test_incompatible_layout_is_refused(bundles: dict[str, Path], tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    serving = load_model(bundles["binary-v1"], settings).serving
    with pytest.raises(ModelLoadError, match="layout cic46"):
        load_model(bundles["cic46"], settings, serving_spec=serving.spec)
    assert load_model(bundles["labels"], settings, serving_spec=serving.spec).manifest


def test_tampered_canary_is_refused(bundles: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "bad"
    shutil.copytree(bundles["binary-v1"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sha256"]["canary.json"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(copy, _settings(tmp_path))

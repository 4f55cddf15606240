"""Stage manifests: written last, round-trip, decide what is current, never look half-written."""

from pathlib import Path

import pytest

from iotad.errors import ArtifactError
from iotad.offline.artifacts import (
    StageManifest,
    config_hash,
    is_current,
    manifest_sha256,
    new_manifest,
    publish,
    read_manifest,
    staging,
)
from iotad.offline.config import BalanceConfig, DataConfig


def _manifest(config: str = "c", inputs: dict[str, str] | None = None) -> StageManifest:
    return new_manifest(
        stage="balance",
        key="holdout/task8",
        config=config,
        inputs=inputs or {"scale": "ab" * 32},
        seed=42,
        rows={"balanced": 10},
        columns={"x": "float"},
        timings={"balance": 1.23456},
        report={"target": 8},
    )


def test_manifest_round_trips_and_is_current(tmp_path: Path) -> None:
    dest = tmp_path / "balance"
    with staging(dest) as temp:
        (temp / "data.parquet").write_bytes(b"x")
        sha = publish(temp, dest, _manifest())
    again = read_manifest(dest)
    assert again is not None and again == StageManifest.model_validate_json(again.model_dump_json())
    assert again.timings == {"balance": 1.235} and again.library_versions["numpy"] != "absent"
    assert manifest_sha256(dest) == sha
    assert is_current(dest, "c", {"scale": "ab" * 32})
    assert not is_current(dest, "other", {"scale": "ab" * 32})
    assert not is_current(dest, "c", {"scale": "cd" * 32})
    assert (dest / "data.parquet").read_bytes() == b"x"


def test_a_failed_stage_leaves_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "clean"
    with pytest.raises(RuntimeError), staging(dest) as temp:
        (temp / "half.parquet").write_bytes(b"x")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []
    assert read_manifest(dest) is None
    with pytest.raises(ArtifactError, match="missing or unfinished"):
        manifest_sha256(dest)


def test_republishing_replaces_the_old_artifact(tmp_path: Path) -> None:
    dest = tmp_path / "reduce"
    for config in ("one", "two"):
        with staging(dest) as temp:
            (temp / f"{config}.txt").write_text(config)
            publish(temp, dest, _manifest(config))
    assert sorted(p.name for p in dest.iterdir()) == ["_manifest.json", "two.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["reduce"]


def test_a_corrupt_manifest_is_an_artifact_error(tmp_path: Path) -> None:
    (tmp_path / "_manifest.json").write_text("{}")
    with pytest.raises(ArtifactError, match="not a valid stage manifest"):
        read_manifest(tmp_path)


def test_config_hash_follows_the_values() -> None:
    assert config_hash(DataConfig()) == config_hash(DataConfig())
    changed = DataConfig(balance=BalanceConfig(target_scale=0.5))
    assert config_hash(changed) != config_hash(DataConfig())
    assert config_hash({"b": 1, "a": 2}) == config_hash({"a": 2, "b": 1})


def test_staging_left_by_a_killed_run_is_cleared(tmp_path: Path) -> None:
    leftover = tmp_path / ".clean.abc.tmp"
    leftover.mkdir()
    (leftover / "half.parquet").write_bytes(b"x")
    with staging(tmp_path / "clean") as temp:
        publish(temp, tmp_path / "clean", _manifest())
    assert [p.name for p in tmp_path.iterdir()] == ["clean"]

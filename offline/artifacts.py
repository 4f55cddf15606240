"""Stage artifacts: a directory of outputs plus ``_manifest.json``, written last.

A stage writes into a staging directory beside its final place; :func:`publish` writes the
manifest and renames the directory, so a crashed stage leaves nothing that looks finished. The
runner skips a stage whose manifest has the same config hash and the same input manifest hashes
(:func:`is_current`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iotad.errors import ArtifactError

logger = logging.getLogger(__name__)

MANIFEST_NAME = "_manifest.json"

#: Libraries whose versions every manifest records.
TRACKED_LIBRARIES: tuple[str, ...] = (
    "iotad", "numpy", "pandas", "pyarrow", "dask", "distributed", "dask-ml", "scikit-learn",
    "imbalanced-learn", "tensorflow-cpu", "keras", "skl2onnx", "tf2onnx", "onnx", "onnxruntime",
)  # fmt: skip


class StageManifest(BaseModel):
    """``_manifest.json`` of one stage's artifact directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str
    key: str = Field(description="Which instance of the stage, e.g. 'holdout/task8'.")
    config_hash: str
    inputs: dict[str, str] = Field(description="Input name → sha256 of its manifest.")
    code_version: str
    library_versions: dict[str, str]
    seed: int | None
    rows: dict[str, int] = Field(description="Row counts of the written tables.")
    columns: dict[str, str] = Field(description="Column name → type of the main table.")
    timings: dict[str, float] = Field(description="Seconds per step.")
    report: dict[str, Any] = Field(default_factory=dict, description="What the stage found.")
    created_at: datetime


def config_hash(config: BaseModel | Mapping[str, Any]) -> str:
    """sha256 of a configuration's canonical JSON (keys sorted)."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else dict(config)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@cache
def code_version() -> str:
    """The git commit of the working tree (``+dirty`` when it has changes), else the version."""
    root = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return _version("iotad")
    return f"{sha}+dirty" if dirty else sha


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


@cache
def library_versions() -> dict[str, str]:
    """Installed versions of :data:`TRACKED_LIBRARIES`."""
    return {name: _version(name) for name in TRACKED_LIBRARIES}


def manifest_path(directory: Path) -> Path:
    """Where the manifest of an artifact directory lives."""
    return directory / MANIFEST_NAME


def read_manifest(directory: Path) -> StageManifest | None:
    """The manifest of a finished artifact directory, or None when there is none."""
    path = manifest_path(directory)
    if not path.is_file():
        return None
    try:
        return StageManifest.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise ArtifactError(
            f"{path} is not a valid stage manifest: {exc.errors()[0]['msg']}",
            hint=f"delete {directory} or re-run with --force",
        ) from exc


def manifest_sha256(directory: Path) -> str:
    """sha256 of a finished artifact's manifest file (what downstream manifests record)."""
    path = manifest_path(directory)
    if not path.is_file():
        raise ArtifactError(
            f"artifact {directory} is missing or unfinished (no {MANIFEST_NAME})",
            hint="run the earlier stages first (leave out --from)",
        )
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_current(directory: Path, stage_config_hash: str, inputs: Mapping[str, str]) -> bool:
    """True when ``directory`` holds a finished artifact made from this config and these inputs."""
    manifest = read_manifest(directory)
    return (
        manifest is not None
        and manifest.config_hash == stage_config_hash
        and manifest.inputs == dict(inputs)
    )


@contextmanager
def staging(directory: Path) -> Iterator[Path]:
    """A fresh staging directory beside ``directory``; removed again if the block fails.

    Staging directories a killed run left behind for the same artifact are removed first.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    for stale in directory.parent.glob(f".{directory.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        yield temp
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def publish(temp: Path, directory: Path, manifest: StageManifest) -> str:
    """Write ``manifest`` into ``temp``, replace ``directory`` with it; return the manifest sha256.

    The manifest is the last file written, and the rename is the last step, so a directory with
    a manifest is always complete.
    """
    data = manifest.model_dump_json(indent=2).encode()
    manifest_path(temp).write_bytes(data)
    if directory.exists():
        retired = directory.with_name(f".{directory.name}.old")
        shutil.rmtree(retired, ignore_errors=True)
        directory.replace(retired)
        temp.replace(directory)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        temp.replace(directory)
    logger.info("%s/%s written to %s", manifest.stage, manifest.key, directory)
    return hashlib.sha256(data).hexdigest()


def new_manifest(
    *,
    stage: str,
    key: str,
    config: str,
    inputs: Mapping[str, str],
    seed: int | None,
    rows: Mapping[str, int],
    columns: Mapping[str, str],
    timings: Mapping[str, float],
    report: Mapping[str, Any] | None = None,
) -> StageManifest:
    """A manifest stamped with the code version, library versions and the current time."""
    return StageManifest(
        stage=stage,
        key=key,
        config_hash=config,
        inputs=dict(inputs),
        code_version=code_version(),
        library_versions=library_versions(),
        seed=seed,
        rows=dict(rows),
        columns=dict(columns),
        timings={name: round(seconds, 3) for name, seconds in timings.items()},
        report=dict(report or {}),
        created_at=datetime.now(UTC),
    )


__all__ = [
    "MANIFEST_NAME",
    "StageManifest",
    "code_version",
    "config_hash",
    "is_current",
    "library_versions",
    "manifest_path",
    "manifest_sha256",
    "new_manifest",
    "publish",
    "read_manifest",
    "staging",
]

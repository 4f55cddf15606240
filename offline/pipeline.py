"""The offline runner: the only code that resolves paths, loads inputs, calls stages and writes
artifacts.

``run_pipeline`` walks the stages in order (``ingest → clean → [split] → variance → scale →
balance → reduce → train → evaluate → export``), per protocol and per task. Each stage's output is
a directory with ``_manifest.json`` written last (:mod:`iotad.offline.artifacts`); a stage whose
manifest has the same config hash and input hashes is skipped, so a run resumes where the last one
stopped. ``from_stage``/``to_stage``/``force`` re-run a slice: stages before ``from_stage`` must
already be complete and are reused as they are.

This module holds the request, the stage bookkeeping and the order of steps; the data steps are
in :mod:`iotad.offline.pipeline_data`, the model steps in :mod:`iotad.offline.pipeline_models`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from iotad.console import Console, ProgressTracker
from iotad.offline.artifacts import (
    is_current,
    manifest_sha256,
    new_manifest,
    publish,
    read_manifest,
    staging,
)
from iotad.offline.config import DataConfig, ExportConfig, KerasConfig, SklearnConfig
from iotad.offline.scheduler import DaskExecutor, LocalScheduler
from iotad.offline.types import ModelKind, Protocol
from iotad.schemas.features import FeatureLayout
from iotad.schemas.keys import SigningKey
from iotad.schemas.labels import CategoryMapName, Task

logger = logging.getLogger(__name__)


class Stage(StrEnum):
    """The pipeline's stages, in run order (``--from``/``--to`` take these names)."""

    INGEST = "ingest"
    CLEAN = "clean"
    SPLIT = "split"
    VARIANCE = "variance"
    SCALE = "scale"
    BALANCE = "balance"
    REDUCE = "reduce"
    TRAIN = "train"
    EVALUATE = "evaluate"
    EXPORT = "export"

    @property
    def position(self) -> int:
        """Place in the run order."""
        return list(Stage).index(self)


@dataclass(frozen=True)
class RunRequest:
    """Everything one ``iotad offline run`` needs, already validated."""

    data: tuple[Path, ...]
    out: Path
    protocol: Protocol = "holdout"
    tasks: tuple[Task, ...] = (Task.BINARY, Task.CATEGORY, Task.LABEL)
    models: tuple[ModelKind, ...] = tuple(ModelKind)
    layout: FeatureLayout | None = None
    category_map: CategoryMapName = "study"
    from_stage: Stage | None = None
    to_stage: Stage | None = None
    force: bool = False
    export_to: Path | None = None
    scheduler: str | None = None
    local_scheduler: LocalScheduler = "distributed"
    seed: int = 42
    data_cfg: DataConfig = field(default_factory=DataConfig)
    sklearn: SklearnConfig = field(default_factory=SklearnConfig)
    keras: KerasConfig = field(default_factory=KerasConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    # Signs every exported bundle (offline.signing_key), when given.
    signer: SigningKey | None = None
    command: str = ""


@dataclass(frozen=True)
class StageOutcome:
    """What a stage's build step reports for its manifest."""

    rows: Mapping[str, int] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    timings: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StageRecord:
    """One stage instance of a run: what happened and how long it took."""

    stage: Stage
    key: str
    status: str
    seconds: float


@dataclass
class StageRunner:
    """Skip, reuse or run stage instances, honouring ``from``/``to``/``force``."""

    from_stage: Stage | None
    to_stage: Stage | None
    force: bool
    console: Console
    records: list[StageRecord] = field(default_factory=list)

    def wants(self, stage: Stage) -> bool:
        """False for stages after ``to_stage``."""
        return self.to_stage is None or stage.position <= self.to_stage.position

    def run(
        self,
        stage: Stage,
        key: str,
        directory: Path,
        config: str,
        inputs: Mapping[str, str],
        build: Callable[[Path], StageOutcome],
    ) -> str:
        """Make sure ``directory`` holds this stage's artifact; return its manifest's sha256.

        ``build(staging_dir)`` writes the outputs into a staging directory and returns what the
        manifest records; the runner adds the manifest and renames the directory into place.
        """
        if self.from_stage is not None and stage.position < self.from_stage.position:
            sha = manifest_sha256(directory)
            if not is_current(directory, config, inputs):
                logger.warning("%s %s is reused as it is, although its inputs changed", stage, key)
            self.records.append(StageRecord(stage, key, "reused", 0.0))
            return sha
        if not self.force and is_current(directory, config, inputs):
            self.console.status(f"{stage} {key}: up to date, skipped")
            self.records.append(StageRecord(stage, key, "skipped", 0.0))
            return manifest_sha256(directory)
        self.console.status(f"{stage} {key}: running")
        started = time.perf_counter()
        with staging(directory) as temp:
            outcome = build(temp)
            seconds = time.perf_counter() - started
            manifest = new_manifest(
                stage=stage.value,
                key=key,
                config=config,
                inputs=inputs,
                seed=outcome.seed,
                rows=outcome.rows,
                columns=outcome.columns,
                timings={**outcome.timings, "total": seconds},
                report=outcome.report,
            )
            sha = publish(temp, directory, manifest)
        self.console.status(f"{stage} {key}: done in {seconds:.1f} s")
        self.records.append(StageRecord(stage, key, "ran", seconds))
        return sha

    def report(self, directory: Path) -> Mapping[str, Any]:
        """The ``report`` section of a finished artifact's manifest."""
        manifest = read_manifest(directory)
        return manifest.report if manifest is not None else {}


@dataclass(frozen=True)
class RunContext:
    """What every step of one run shares."""

    request: RunRequest
    runner: StageRunner
    executor: DaskExecutor
    progress: ProgressTracker
    console: Console

    @property
    def cfg(self) -> DataConfig:
        """The data stages' configuration."""
        return self.request.data_cfg


@dataclass
class RunSummary:
    """What a run did, for the CLI and the results files."""

    out: Path
    protocol: Protocol
    stages: list[StageRecord]
    results: Path | None = None
    failures: list[str] = field(default_factory=list)


def run_pipeline(request: RunRequest, console: Console) -> RunSummary:
    """Run the pipeline for ``request``; return what ran, what was skipped and where results are.

    Raises
    ------
    IotadError
        subclasses for bad data (``DataError``), missing artifacts (``ArtifactError``) or
        bundles that fail their parity check (``ModelLoadError``).
    """
    from iotad.offline import pipeline_data, pipeline_models
    from iotad.offline.sources import discover_sources

    runner = StageRunner(request.from_stage, request.to_stage, request.force, console)
    summary = RunSummary(request.out, request.protocol, runner.records)
    sources = discover_sources(request.data)  # bad --data fails before any worker starts
    with (
        DaskExecutor(request.scheduler, request.local_scheduler) as executor,
        console.progress() as progress,
    ):
        context = RunContext(request, runner, executor, progress, console)
        data = pipeline_data.prepare(context, *sources)
        if data is None:
            return summary
        tasks = pipeline_data.task_datasets(context, data)
        if runner.wants(Stage.TRAIN):
            summary.failures = pipeline_models.train_evaluate_export(context, data, tasks)
        if runner.wants(Stage.EVALUATE):
            summary.results = pipeline_models.write_results(context, data, tasks)
    return summary


__all__ = [
    "RunContext",
    "RunRequest",
    "RunSummary",
    "Stage",
    "StageOutcome",
    "StageRecord",
    "StageRunner",
    "run_pipeline",
]

"""The runner's data half: ingest → clean → [split] → variance → scale → balance → reduce, and
the :class:`~iotad.offline.types.TaskDataset` each task ends with.

Where every artifact lives (``--out`` is the root)::

    ingest/<layout>/part-*.parquet           every layout found, features float32
    clean/part-*.parquet                     the trained layout, deduplicated, with row_id
    <protocol>/split/{train,test}/           holdout only
    <protocol>/variance/variance.parquet     per-feature variance and whether it is kept
    <protocol>/scale/scaler.parquet, data/   the first standardisation and the scaled rows
    <protocol>/balance/task<N>/balanced.parquet
    <protocol>/reduce/task<N>/               dropped pairs, correlation, heatmaps (PNG)
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iotad.errors import DataError
from iotad.offline.artifacts import config_hash
from iotad.offline.datasets import Provenance, holdout_dataset, study_dataset
from iotad.offline.frames import (
    lazy_frame,
    parquet_columns,
    parquet_parts,
    read_frame,
    write_frame,
)
from iotad.offline.pipeline import RunContext, Stage, StageOutcome
from iotad.offline.plots.correlation import plot_correlation
from iotad.offline.sources import SkippedFile, SourceFile
from iotad.offline.stages import balance as balance_stage
from iotad.offline.stages import clean as clean_stage
from iotad.offline.stages import ingest as ingest_stage
from iotad.offline.stages import split as split_stage
from iotad.offline.stages.balance import BalancedSet
from iotad.offline.stages.reduce import reduce_features
from iotad.offline.stages.scale import ScaleJob, Standardisation, fit_scaler, scale_part
from iotad.offline.stages.variance import fit_variance
from iotad.offline.types import Protocol, TaskDataset
from iotad.schemas.features import LAYOUT_FEATURES, FeatureLayout
from iotad.schemas.labels import LABELS, Task, target_of

logger = logging.getLogger(__name__)

CLASS = "class"


@dataclass(frozen=True)
class ArtifactPaths:
    """The directory of every artifact under ``--out``."""

    out: Path
    protocol: Protocol

    @property
    def ingest(self) -> Path:
        return self.out / "ingest"

    @property
    def clean(self) -> Path:
        return self.out / "clean"

    @property
    def base(self) -> Path:
        return self.out / self.protocol

    @property
    def split(self) -> Path:
        return self.base / "split"

    @property
    def variance(self) -> Path:
        return self.base / "variance"

    @property
    def scale(self) -> Path:
        return self.base / "scale"

    def balance(self, task: Task) -> Path:
        return self.base / "balance" / f"task{int(task)}"

    def reduce(self, task: Task) -> Path:
        return self.base / "reduce" / f"task{int(task)}"

    def model(self, stage: Stage, task: Task, kind: str) -> Path:
        return self.base / stage.value / f"task{int(task)}" / kind

    @property
    def results(self) -> Path:
        return self.base / "results"


@dataclass(frozen=True)
class PreparedData:
    """The shared data stages' results, as later steps need them."""

    paths: ArtifactPaths
    layout: FeatureLayout
    fingerprint: str
    ingest_report: Mapping[str, Any]
    clean_report: Mapping[str, Any]
    split_report: Mapping[str, Any] | None
    kept: tuple[str, ...]
    shas: dict[str, str]


@dataclass(frozen=True)
class TaskData:
    """One task's balance/reduce results and, when the run goes on to train, its dataset."""

    task: Task
    shas: Mapping[str, str] = field(default_factory=dict)
    balance_report: Mapping[str, Any] = field(default_factory=dict)
    reduce_report: Mapping[str, Any] = field(default_factory=dict)
    dataset: TaskDataset | None = None
    skipped: str | None = None


def _sha256_json(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def prepare(
    context: RunContext, sources: Sequence[SourceFile], skipped: Sequence[SkippedFile]
) -> PreparedData | None:
    """Run (or reuse) the shared stages up to ``scale``; None if the run stops before scale.

    ``sources`` and ``skipped`` are what :func:`~iotad.offline.sources.discover_sources` found
    under ``--data``.
    """
    request, runner = context.request, context.runner
    paths = ArtifactPaths(request.out, request.protocol)
    fingerprint = _sha256_json([(s.name, s.size, s.mtime_ns) for s in sources])

    def build_ingest(temp: Path) -> StageOutcome:
        report = ingest_stage.ingest(
            sources, temp, context.cfg.ingest, context.executor,
            skipped=skipped, progress=context.progress,
        )  # fmt: skip
        rows = report.rows_by_layout()
        biggest = ingest_stage.choose_layout(rows, None)
        columns = {f.name: str(f.type) for f in ingest_stage.output_schema(biggest)}
        return StageOutcome({k.value: v for k, v in rows.items()}, columns, report.to_json())

    shas = {
        "ingest": runner.run(
            Stage.INGEST,
            "ingest",
            paths.ingest,
            config_hash(context.cfg.ingest),
            {"sources": fingerprint},
            build_ingest,
        )  # fmt: skip
    }
    ingest_report = runner.report(paths.ingest)
    rows = {FeatureLayout(k): int(v) for k, v in ingest_report["rows_by_layout"].items()}
    layout = ingest_stage.choose_layout(rows, request.layout)
    if not runner.wants(Stage.CLEAN):
        return None
    shas["clean"] = _clean(context, paths, layout, shas["ingest"])
    split_report = None
    fit_dir, fit_sha = paths.clean, shas["clean"]
    if request.protocol == "holdout":
        if not runner.wants(Stage.SPLIT):
            return None
        shas["split"] = _split(context, paths, shas["clean"])
        split_report = runner.report(paths.split)
        fit_dir, fit_sha = paths.split / split_stage.TRAIN_DIR, shas["split"]
    if not runner.wants(Stage.VARIANCE):
        return None
    shas["variance"] = _variance(context, paths, layout, fit_dir, fit_sha)
    kept = tuple(str(f) for f in runner.report(paths.variance)["kept_features"])
    if not runner.wants(Stage.SCALE):
        return None
    shas["scale"] = _scale(context, paths, kept, fit_dir, fit_sha, shas["variance"])
    data_fingerprint = _sha256_json(
        [(f["source"], f["layout"], f["rows_written"]) for f in ingest_report["files"]]
    )
    return PreparedData(
        paths, layout, data_fingerprint, ingest_report, runner.report(paths.clean),
        split_report, kept, shas,
    )  # fmt: skip


def _clean(context: RunContext, paths: ArtifactPaths, layout: FeatureLayout, sha: str) -> str:
    parts = parquet_parts(paths.ingest / layout.value)
    features = LAYOUT_FEATURES[layout]

    def build(temp: Path) -> StageOutcome:
        report = clean_stage.clean(
            parts, temp, features, context.cfg.clean, context.executor, progress=context.progress
        )
        columns = {f.name: str(f.type) for f in clean_stage.clean_schema(features)}
        return StageOutcome({"rows": report.rows_out}, columns, report.to_json())

    config = config_hash({"clean": context.cfg.clean.model_dump(), "layout": layout.value})
    return context.runner.run(Stage.CLEAN, "clean", paths.clean, config, {"ingest": sha}, build)


def _split(context: RunContext, paths: ArtifactPaths, sha: str) -> str:
    def build(temp: Path) -> StageOutcome:
        report = split_stage.split(
            parquet_parts(paths.clean), temp, context.cfg.split, context.executor,
            progress=context.progress,
        )  # fmt: skip
        rows = {"train": report.train_rows, "test": report.test_rows}
        columns = parquet_columns(parquet_parts(temp / split_stage.TRAIN_DIR)[0])
        return StageOutcome(rows, columns, report.to_json(), seed=context.cfg.split.seed)

    key = f"{context.request.protocol}/split"
    config = config_hash(context.cfg.split)
    return context.runner.run(Stage.SPLIT, key, paths.split, config, {"clean": sha}, build)


def _variance(
    context: RunContext, paths: ArtifactPaths, layout: FeatureLayout, source: Path, sha: str
) -> str:
    def build(temp: Path) -> StageOutcome:
        result = fit_variance(
            lazy_frame(parquet_parts(source)), LAYOUT_FEATURES[layout], context.cfg.variance
        )
        write_frame(result.to_frame(), temp / "variance.parquet")
        report = {**result.to_json(), "kept_features": list(result.kept)}
        return StageOutcome({"features": len(result.features)}, {}, report)

    protocol = context.request.protocol
    config = config_hash({"variance": context.cfg.variance.model_dump(), "protocol": protocol})
    return context.runner.run(
        Stage.VARIANCE, f"{protocol}/variance", paths.variance, config, {"data": sha}, build
    )


def _scale(
    context: RunContext,
    paths: ArtifactPaths,
    kept: tuple[str, ...],
    source: Path,
    sha: str,
    variance_sha: str,
) -> str:
    def build(temp: Path) -> StageOutcome:
        parts = parquet_parts(source)
        scaler = fit_scaler(lazy_frame(parts, [*kept]), kept)
        write_frame(scaler.to_frame(), temp / "scaler.parquet")
        (temp / "data").mkdir()
        jobs = [ScaleJob(p, temp / "data" / p.name, scaler) for p in parts]
        counts = context.executor.map(
            scale_part, jobs, progress=context.progress, description="scale: write"
        )
        columns = parquet_columns(jobs[0].dest)
        return StageOutcome({"rows": sum(counts)}, columns, {"features": list(kept)})

    protocol = context.request.protocol
    inputs = {"data": sha, "variance": variance_sha}
    return context.runner.run(
        Stage.SCALE, f"{protocol}/scale", paths.scale, config_hash({"protocol": protocol}),
        inputs, build,
    )  # fmt: skip


def task_datasets(context: RunContext, data: PreparedData) -> list[TaskData]:
    """Balance and reduce every task, and build its dataset when the run goes on to train."""
    out = []
    for task in context.request.tasks:
        if not context.runner.wants(Stage.BALANCE):
            break
        try:
            out.append(_task(context, data, task))
        except DataError as exc:
            context.console.warn(f"task {int(task)} skipped: {exc.message}")
            out.append(TaskData(task, skipped=exc.message))
    return out


def _task(context: RunContext, data: PreparedData, task: Task) -> TaskData:
    request, runner, paths = context.request, context.runner, data.paths
    key = f"{request.protocol}/task{int(task)}"
    cfg = context.cfg

    def build_balance(temp: Path) -> StageOutcome:
        balanced, plan = balance_stage.balance(
            parquet_parts(paths.scale / "data"), data.kept, task, request.category_map,
            cfg.balance, context.executor, progress=context.progress,
        )  # fmt: skip
        write_frame(_balanced_frame(balanced), temp / "balanced.parquet")
        columns = parquet_columns(temp / "balanced.parquet")
        return StageOutcome(
            {"balanced": len(balanced.y)}, columns, plan.to_json(), cfg.balance.seed
        )

    config = config_hash(
        {"balance": cfg.balance.model_dump(), "task": int(task), "map": request.category_map}
    )
    shas = dict(data.shas)
    shas["balance"] = runner.run(
        Stage.BALANCE, key, paths.balance(task), config, {"scale": data.shas["scale"]},
        build_balance,
    )  # fmt: skip
    if not runner.wants(Stage.REDUCE):
        return TaskData(task, shas, runner.report(paths.balance(task)))
    balanced = load_balanced(paths.balance(task))

    def build_reduce(temp: Path) -> StageOutcome:
        reduction = reduce_features(balanced.x, balanced.features, cfg.reduce)
        write_frame(reduction.to_frame(), temp / "dropped.parquet")
        write_frame(
            pd.DataFrame(reduction.correlation, columns=list(reduction.features)),
            temp / "correlation.parquet",
        )
        title = f"task {int(task)} ({request.protocol})"
        plot_correlation(
            reduction.correlation, reduction.features,
            f"{title}: |r| before reduction ({len(reduction.features)} features)",
            temp / "heatmap_before.png",
        )  # fmt: skip
        plot_correlation(
            reduction.kept_correlation(), reduction.kept,
            f"{title}: |r| after reduction ({len(reduction.kept)} features)",
            temp / "heatmap_after.png",
        )  # fmt: skip
        return StageOutcome({"features": len(reduction.kept)}, {}, reduction.to_json())

    config = config_hash({"reduce": cfg.reduce.model_dump(), "task": int(task)})
    shas["reduce"] = runner.run(
        Stage.REDUCE, key, paths.reduce(task), config, {"balance": shas["balance"]}, build_reduce
    )
    task_data = TaskData(
        task, shas, runner.report(paths.balance(task)), runner.report(paths.reduce(task))
    )
    if not runner.wants(Stage.TRAIN):
        return task_data
    dataset = _dataset(context, data, task_data, balanced)
    return TaskData(task, shas, task_data.balance_report, task_data.reduce_report, dataset)


def _balanced_frame(balanced: BalancedSet) -> pd.DataFrame:
    frame = pd.DataFrame(balanced.x, columns=list(balanced.features))
    frame[CLASS] = balanced.y
    frame[clean_stage.ROW_ID] = balanced.row_id
    frame[balance_stage.ORIGIN] = balanced.origin
    return frame


def load_balanced(directory: Path) -> BalancedSet:
    """Read a balance artifact back."""
    frame = read_frame([directory / "balanced.parquet"])
    features = tuple(
        c for c in frame.columns if c not in (CLASS, clean_stage.ROW_ID, balance_stage.ORIGIN)
    )
    return BalancedSet(
        features=features,
        x=frame[list(features)].to_numpy(np.float32),
        y=frame[CLASS].to_numpy().astype(str),
        row_id=frame[clean_stage.ROW_ID].to_numpy(np.int64),
        origin=frame[balance_stage.ORIGIN].to_numpy(np.int8),
    )


def _dataset(
    context: RunContext, data: PreparedData, task_data: TaskData, balanced: BalancedSet
) -> TaskDataset:
    request, task = context.request, task_data.task
    first = Standardisation.from_frame(read_frame([data.paths.scale / "scaler.parquet"]))
    kept = tuple(str(f) for f in task_data.reduce_report["kept"])
    classes = set(np.unique(balanced.y).tolist())
    trained_on = (
        {s["label"]: s["train"] for s in data.split_report["labels"]}
        if data.split_report is not None
        else dict(data.clean_report["labels_out"])
    )
    present = {
        label: int(n)
        for label, n in trained_on.items()
        if n and target_of(label, task, request.category_map) in classes
    }
    provenance = Provenance(
        present, data.fingerprint, task_data.shas["reduce"], request.seed,
        dataset_notes(data, task_data),
    )  # fmt: skip
    common: dict[str, Any] = {
        "task": task, "layout": data.layout, "category_map": request.category_map,
        "balanced": balanced, "kept": kept, "first": first, "provenance": provenance,
    }  # fmt: skip
    if request.protocol == "study":
        return study_dataset(**common, cfg=context.cfg.study_split)
    features = list(LAYOUT_FEATURES[data.layout])
    test = read_frame(parquet_parts(data.paths.split / split_stage.TEST_DIR), [*features, "label"])
    return holdout_dataset(
        **common,
        raw_test=test[features].to_numpy(np.float32),
        test_labels=test["label"].to_numpy().astype(str),
    )


def dataset_notes(data: PreparedData, task_data: TaskData) -> tuple[str, ...]:
    """Human-readable facts about a task's data that every result should carry."""
    notes = [f"Trained on the {data.layout.value} layout"]
    others = {k: v for k, v in data.ingest_report["rows_by_layout"].items() if k != data.layout}
    notes += [
        f"{layout} rows ingested but not trained on: {rows}" for layout, rows in others.items()
    ]
    plan = task_data.balance_report
    if plan.get("target_scaled_down"):
        notes.append(
            f"Balance target {plan['requested_target']} scaled down to {plan['target']} "
            "(the largest class)"
        )
    if plan.get("skipped"):
        notes.append(f"Classes too small to keep: {', '.join(plan['skipped'])}")
    if data.split_report is not None and data.split_report["excluded_labels"]:
        notes.append(
            "Labels too small to split, left out: "
            + ", ".join(data.split_report["excluded_labels"])
        )
    return tuple(notes)


def labels_missing(present: Sequence[str]) -> list[str]:
    """The canonical labels that have no row in the data."""
    have = set(present)
    return [label for label in LABELS if label not in have]


__all__ = [
    "ArtifactPaths",
    "PreparedData",
    "TaskData",
    "dataset_notes",
    "labels_missing",
    "load_balanced",
    "prepare",
    "task_datasets",
]

"""``balance``: one balanced training set per task (2, 8 or 34 classes).

Classes above the target are resampled down exactly as the study did
(``sklearn.utils.resample(replace=True, n_samples=target, random_state=seed)`` per class, so
with replacement); classes below it are raised by SMOTE (imbalanced-learn, ``random_state``
= seed) in one call per neighbour count. Under ``holdout`` the input is the training part
only, so no test row is ever resampled or used as a SMOTE neighbour.

Targets adapt to the data, visibly (every class's plan is in the report):

* the task's target is ``targets[task] × target_scale``, or the largest class when no class
  reaches it (SMOTE never invents a class bigger than the biggest real one);
* a class below the target grows to at most ``max_oversample`` × its own rows;
* SMOTE's ``k`` is ``min(k_neighbors, rows − 1)`` for tiny classes;
* a class with fewer than ``min_class_rows`` rows is left out of the task.

Memory: a first pass reads only the label column; a second pass reads each part once and keeps
only the rows the plan needs (the sampled rows of large classes, every row of small ones), so
memory is bounded by the balanced set, never by the input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.console import ProgressTracker
from iotad.errors import DataError
from iotad.offline.config import BalanceConfig
from iotad.offline.frames import read_part
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.stages.clean import ROW_ID, label_codes
from iotad.offline.stages.ingest import LABEL
from iotad.schemas.labels import LABELS, CategoryMapName, Task, target_of, task_classes

logger = logging.getLogger(__name__)

ORIGIN = "origin"
SYNTHETIC_ROW_ID = -1


class Origin(IntEnum):
    """Where a balanced row comes from."""

    ORIGINAL = 0
    RESAMPLED = 1
    SMOTE = 2


@dataclass(frozen=True)
class ClassPlan:
    """What balancing does to one class."""

    name: str
    rows: int
    target: int
    method: str
    k: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready row of the report."""
        return {"class": self.name, "rows": self.rows, "target": self.target,
                "method": self.method, "k": self.k}  # fmt: skip


@dataclass(frozen=True)
class BalancePlan:
    """The task's targets and every class's plan."""

    task: Task
    requested_target: int
    target: int
    classes: tuple[ClassPlan, ...]

    @property
    def kept(self) -> tuple[ClassPlan, ...]:
        """Plans of the classes that stay in the task."""
        return tuple(p for p in self.classes if p.method != "skipped")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary for the stage manifest."""
        return {
            "task": int(self.task),
            "requested_target": self.requested_target,
            "target": self.target,
            "target_scaled_down": self.target < self.requested_target,
            "classes": [p.to_json() for p in self.classes],
            "skipped": [p.name for p in self.classes if p.method == "skipped"],
        }


@dataclass(frozen=True)
class BalancedSet:
    """Balanced training rows: features, class, and where each row came from."""

    features: tuple[str, ...]
    x: NDArray[np.float32]
    y: NDArray[np.str_]
    row_id: NDArray[np.int64]
    origin: NDArray[np.int8]


def plan_balance(counts: Mapping[str, int], task: Task, cfg: BalanceConfig) -> BalancePlan:
    """Every class's target and method, from its row count (a pure function).

    Raises
    ------
    DataError
        if fewer than two classes are big enough to keep.
    """
    requested = cfg.target_for(int(task))
    usable = {c: n for c, n in counts.items() if n >= cfg.min_class_rows}
    if len(usable) < 2:
        raise DataError(
            f"task {int(task)} needs two classes with at least {cfg.min_class_rows} rows; "
            f"found {dict(counts)}"
        )
    target = min(requested, max(usable.values()))
    plans = []
    for name in [c for c in task_classes(task) if c in counts]:
        n = counts[name]
        if n < cfg.min_class_rows:
            plans.append(ClassPlan(name, n, 0, "skipped"))
        elif n > target:
            plans.append(ClassPlan(name, n, target, "downsample"))
        else:
            grown = min(target, int(n * cfg.max_oversample))
            if grown > n:
                plans.append(ClassPlan(name, n, grown, "smote", min(cfg.k_neighbors, n - 1)))
            else:
                plans.append(ClassPlan(name, n, n, "kept"))
    return BalancePlan(task, requested, target, tuple(plans))


def resample_indices(n: int, n_samples: int, seed: int) -> NDArray[np.intp]:
    """The row indices ``sklearn.utils.resample(replace=True, random_state=seed)`` draws."""
    from sklearn.utils import check_random_state

    return np.asarray(check_random_state(seed).choice(n, size=n_samples, replace=True))


@dataclass(frozen=True)
class GatherJob:
    """Which rows of one part to keep: class → positions among that class's rows here."""

    path: Path
    features: tuple[str, ...]
    class_of_code: NDArray[np.int16]
    wanted: dict[int, NDArray[np.intp] | None]


def part_classes(job: GatherJob) -> NDArray[np.int16]:
    """The task class (index into the task's classes, −1 for none) of every row of a part."""
    return job.class_of_code[label_codes(read_part(job.path, [LABEL])[LABEL])]


def gather_part(job: GatherJob) -> dict[int, tuple[NDArray[np.float32], NDArray[np.int64]]]:
    """The wanted rows (features, row ids) of each class in one part (``None`` = all of them)."""
    frame = read_part(job.path, [*job.features, LABEL, ROW_ID])
    classes = job.class_of_code[label_codes(frame[LABEL])]
    values = frame[list(job.features)].to_numpy(np.float32)
    row_ids = frame[ROW_ID].to_numpy(np.int64)
    out = {}
    for cls, positions in job.wanted.items():
        rows = np.flatnonzero(classes == cls)
        if positions is not None:
            rows = rows[positions]
        out[cls] = (values[rows], row_ids[rows])
    return out


def class_lookup(task: Task, category_map: CategoryMapName) -> NDArray[np.int16]:
    """Label code → index of its class in ``task_classes(task)``."""
    classes = task_classes(task)
    return np.asarray(
        [classes.index(target_of(label, task, category_map)) for label in LABELS], dtype=np.int16
    )


def balance(
    parts: Sequence[Path],
    features: Sequence[str],
    task: Task,
    category_map: CategoryMapName,
    cfg: BalanceConfig,
    executor: DaskExecutor,
    *,
    progress: ProgressTracker | None = None,
) -> tuple[BalancedSet, BalancePlan]:
    """Balance the scaled rows in ``parts`` for ``task``.

    Raises
    ------
    DataError
        if the task has fewer than two usable classes.
    """
    classes = task_classes(task)
    lookup = class_lookup(task, category_map)
    names = tuple(features)
    probe = [GatherJob(Path(p), names, lookup, {}) for p in parts]
    per_part = executor.map(part_classes, probe, progress=progress, description="balance: labels")
    counts_by_part = np.stack([np.bincount(c, minlength=len(classes)) for c in per_part])
    totals = counts_by_part.sum(axis=0)
    plan = plan_balance({classes[i]: int(n) for i, n in enumerate(totals) if n}, task, cfg)
    draws = {
        classes.index(p.name): resample_indices(p.rows, p.target, cfg.seed)
        for p in plan.kept
        if p.method == "downsample"
    }
    jobs = _gather_jobs(probe, plan, classes, counts_by_part, draws)
    gathered = executor.map(gather_part, jobs, progress=progress, description="balance: gather")
    pieces: list[tuple[NDArray[np.float32], NDArray[np.int64], str, Origin]] = []
    for class_plan in plan.kept:
        cls = classes.index(class_plan.name)
        x = np.concatenate([g[cls][0] for g in gathered if cls in g])
        ids = np.concatenate([g[cls][1] for g in gathered if cls in g])
        if cls in draws:
            unique = np.unique(draws[cls])
            order = np.searchsorted(unique, draws[cls])
            pieces.append((x[order], ids[order], class_plan.name, Origin.RESAMPLED))
        else:
            pieces.append((x, ids, class_plan.name, Origin.ORIGINAL))
    pieces += _smote_pieces(pieces, plan, cfg)
    result = BalancedSet(
        features=names,
        x=np.concatenate([p[0] for p in pieces]).astype(np.float32),
        y=np.concatenate([np.full(len(p[0]), p[2]) for p in pieces]),
        row_id=np.concatenate([p[1] for p in pieces]).astype(np.int64),
        origin=np.concatenate([np.full(len(p[0]), p[3], dtype=np.int8) for p in pieces]),
    )
    logger.info("balance task %d: %d rows, %d classes", int(task), len(result.y), len(plan.kept))
    return result, plan


def _gather_jobs(
    probe: Sequence[GatherJob],
    plan: BalancePlan,
    classes: Sequence[str],
    counts_by_part: NDArray[np.int64],
    draws: Mapping[int, NDArray[np.intp]],
) -> list[GatherJob]:
    offsets = np.vstack([np.zeros(len(classes), np.int64), counts_by_part.cumsum(axis=0)])
    uniques = {cls: np.unique(drawn) for cls, drawn in draws.items()}
    jobs = []
    for number, job in enumerate(probe):
        wanted: dict[int, NDArray[np.intp] | None] = {}
        for class_plan in plan.kept:
            cls = classes.index(class_plan.name)
            if not counts_by_part[number, cls]:
                continue
            if cls not in uniques:
                wanted[cls] = None
                continue
            lo, hi = offsets[number, cls], offsets[number + 1, cls]
            here = uniques[cls][(uniques[cls] >= lo) & (uniques[cls] < hi)]
            if len(here):
                wanted[cls] = (here - lo).astype(np.intp)
        jobs.append(GatherJob(job.path, job.features, job.class_of_code, wanted))
    return jobs


_CONTEXT_CLASS = "\x00context"


def _smote_pieces(
    pieces: Sequence[tuple[NDArray[np.float32], NDArray[np.int64], str, Origin]],
    plan: BalancePlan,
    cfg: BalanceConfig,
) -> list[tuple[NDArray[np.float32], NDArray[np.int64], str, Origin]]:
    """SMOTE rows for every class planned for it, one SMOTE call per neighbour count.

    SMOTE's neighbours are searched within each class only; the rows of one class never
    influence another's. A call with a single class gets one placeholder row of another class,
    because imbalanced-learn refuses a one-class target; the placeholder is never resampled.
    """
    from imblearn.over_sampling import SMOTE

    rows_of = {p[2]: p[0] for p in pieces}
    by_k: dict[int, list[ClassPlan]] = {}
    for class_plan in plan.kept:
        if class_plan.method == "smote" and class_plan.k is not None:
            by_k.setdefault(class_plan.k, []).append(class_plan)
    out = []
    for k, group in sorted(by_k.items()):
        x = np.concatenate([rows_of[p.name] for p in group]).astype(np.float64)
        y = np.concatenate([np.full(len(rows_of[p.name]), p.name, dtype=object) for p in group])
        if len(group) == 1:
            x = np.vstack([x, np.zeros((1, x.shape[1]))])
            y = np.append(y, _CONTEXT_CLASS)
        smote = SMOTE(
            sampling_strategy={p.name: p.target for p in group},
            k_neighbors=k,
            random_state=cfg.seed,
        )
        x_out, y_out = smote.fit_resample(x, y)
        x_new, y_new = x_out[len(x) :], np.asarray(y_out[len(y) :])
        for class_plan in group:
            mine = y_new == class_plan.name
            synthetic = x_new[mine].astype(np.float32)
            ids = np.full(len(synthetic), SYNTHETIC_ROW_ID, dtype=np.int64)
            out.append((synthetic, ids, class_plan.name, Origin.SMOTE))
    return out


__all__ = [
    "ORIGIN",
    "SYNTHETIC_ROW_ID",
    "BalancePlan",
    "BalancedSet",
    "ClassPlan",
    "Origin",
    "balance",
    "class_lookup",
    "plan_balance",
    "resample_indices",
]

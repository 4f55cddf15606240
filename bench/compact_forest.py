"""Compact vs full Random Forest: bundle size, onnxruntime rows/s per core, macro-F1 (honest split).

Data: the real per-class captures in ``../shared/data/ciciot2023/per_class`` (13 labels), each
capture split in time order — first 80 % train, last 20 % test — with the scaler and variance
mask fitted on the training part (``tests/support/task_datasets.py``); the 8- and 34-class tasks.

For the full forest (the study's: 100 fully grown trees) and every candidate compact forest:

* **bundle MB**: the size of the bundle directory written by the real export
  (``export_bundle``, parity-gated); with ``--skl2onnx`` also the size skl2onnx's own converter
  would give the same forest (one weight per class per leaf; slow and memory-hungry for the full
  forest);
* **rows/s per core**: ``onnxruntime`` with ``intra_op_num_threads=1``, batches of 1,000 rows of
  model input, over at least ``--seconds`` of scoring after a warm-up;
* **macro-F1** on the held-out rows, for seed 42 and as a mean over ``--seeds``.

A candidate qualifies when, on every task, the bundle is ≤ 25 MB, it scores ≥ 100,000 rows/s
per core, and its macro-F1 is no more than 0.01 below the full forest's (for seed 42 and for the
mean), and its size is *bounded*: leaf limits alone (``min_samples_leaf``) let trees grow with
the training rows (the study's balanced 34-class set has 2.8 M rows, 25× these), so a candidate
must set ``max_leaf_nodes`` and its size at that cap — estimated from the bytes per leaf
measured here — must also stay ≤ 25 MB. Among qualifying candidates the most accurate wins (the
largest worst-task margin of mean macro-F1 over the full forest; size and speed have room to
spare); the script says whether that is the configured ``GATEWAY_FOREST``.

With ``--balanced DIR`` it instead checks the configured ``GATEWAY_FOREST`` at full scale: it
trains it on a balance artifact of ``iotad offline run`` (e.g. the 34-class holdout training set,
``var/offline/holdout/balance/task34``) and prints its leaves, leaf weights and ONNX size. With
``--convert DIR`` it converts a forest the pipeline trained (a ``train`` artifact, e.g.
``var/offline/holdout/train/task34/rf``) and prints the time, the size and the peak memory.

Run from the repository root (the data loader lives with the test fixtures)::

    PYTHONPATH=tests .venv/bin/python bench/compact_forest.py
    PYTHONPATH=tests .venv/bin/python bench/compact_forest.py \
        --balanced var/offline/holdout/balance/task34
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from machine import describe

from iotad.offline.config import ExportConfig, SklearnConfig
from iotad.offline.models.compact_forest import GATEWAY_FOREST, CompactForestParams
from iotad.offline.models.onnx_graphs import sklearn_to_onnx
from iotad.offline.stages.evaluate import evaluate
from iotad.offline.stages.export_onnx import export_bundle
from iotad.offline.stages.train_sklearn import train_sklearn
from iotad.offline.types import ModelKind, TaskDataset, TrainedModel
from iotad.schemas.bundle import load_bundle
from iotad.schemas.labels import Task

MAX_BUNDLE_BYTES = 25 * 1000**2
MIN_ROWS_PER_SECOND = 100_000
MAX_F1_LOSS = 0.01
BATCH = 1000

CANDIDATES: tuple[CompactForestParams, ...] = (
    # Unbounded references: leaf limits alone, so the size grows with the training rows.
    CompactForestParams(n_estimators=20, min_samples_leaf=3),
    CompactForestParams(n_estimators=30, min_samples_leaf=3),
    CompactForestParams(n_estimators=30, max_depth=12, min_samples_leaf=1),
    # Bounded: at most n_estimators × max_leaf_nodes leaves, whatever the data volume.
    CompactForestParams(n_estimators=20, min_samples_leaf=3, max_leaf_nodes=8000),
    CompactForestParams(n_estimators=30, min_samples_leaf=3, max_leaf_nodes=6000),
    CompactForestParams(n_estimators=30, min_samples_leaf=3, max_leaf_nodes=8000),
    CompactForestParams(n_estimators=40, min_samples_leaf=3, max_leaf_nodes=5000),
    CompactForestParams(n_estimators=30, min_samples_leaf=2, max_leaf_nodes=8000),
    CompactForestParams(n_estimators=50, min_samples_leaf=1, max_leaf_nodes=4000),
)


@dataclass
class Measured:
    """One forest on one task."""

    name: str
    bundle_bytes: int = 0
    skl2onnx_bytes: int | None = None
    rows_per_second: float = 0.0
    f1_seed42: float = 0.0
    f1_by_seed: list[float] = field(default_factory=list)
    parity: str = ""
    leaves: int = 0
    cap_bytes: float | None = None

    @property
    def f1_mean(self) -> float:
        return statistics.fmean(self.f1_by_seed)


def label(params: CompactForestParams | None) -> str:
    """A short name: ``full`` or ``n30/d-/l3`` (trees, depth, leaf; ``/m2000`` max leaves)."""
    if params is None:
        return "full (study)"
    depth = params.max_depth or "-"
    leaves = f"/m{params.max_leaf_nodes}" if params.max_leaf_nodes else ""
    return f"n{params.n_estimators}/d{depth}/l{params.min_samples_leaf}{leaves}"


def train(dataset: TaskDataset, params: CompactForestParams | None, seed: int) -> TrainedModel:
    """The study's forest (``params`` None) or a compact one, through the real training stage."""
    import dataclasses

    seeded = dataclasses.replace(dataset, seed=seed)
    if params is None:
        return train_sklearn(seeded, [ModelKind.RF], SklearnConfig())[0]
    return train_sklearn(seeded, [ModelKind.RF_COMPACT], SklearnConfig(rf_compact=params))[0]


def rows_per_second(model_onnx: bytes, x: np.ndarray, seconds: float) -> float:
    """onnxruntime throughput on one core, batches of :data:`BATCH` rows."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_onnx, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    batches = [x[i : i + BATCH] for i in range(0, len(x) - BATCH + 1, BATCH)]
    for batch in batches[:5]:
        session.run(["probabilities"], {name: batch})
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for batch in batches:
            session.run(["probabilities"], {name: batch})
            done += len(batch)
    return done / (time.perf_counter() - started)


def measure(
    dataset: TaskDataset,
    params: CompactForestParams | None,
    seeds: list[int],
    workdir: Path,
    seconds: float,
    skl2onnx: bool,
) -> Measured:
    """Export, time and score one forest (seed 42) and score it again for every other seed."""
    result = Measured(label(params))
    for seed in seeds:
        model = train(dataset, params, seed)
        evaluation = evaluate(dataset, model)
        result.f1_by_seed.append(evaluation.macro_f1)
        if seed != 42:
            continue
        result.f1_seed42 = evaluation.macro_f1
        dest = workdir / f"task{int(dataset.task)}" / result.name.replace("/", "_").split()[0]
        export_bundle(dataset, model, evaluation, dest, ExportConfig())
        bundle = load_bundle(dest)
        result.bundle_bytes = sum(f.stat().st_size for f in dest.iterdir())
        if skl2onnx:
            result.skl2onnx_bytes = sklearn_to_onnx(
                model.estimator, dataset.x_test.shape[1], 17
            ).ByteSize()
        parity = bundle.manifest.parity
        result.parity = f"{parity.class_agreement:.5f}/{parity.max_abs_score_diff:.1e}"
        result.rows_per_second = rows_per_second(bundle.model_bytes, dataset.x_test, seconds)
        result.leaves = sum(int(tree.tree_.n_leaves) for tree in model.estimator.estimators_)
        if params is not None and params.max_leaf_nodes is not None:
            cap = params.n_estimators * params.max_leaf_nodes
            result.cap_bytes = result.bundle_bytes * cap / result.leaves
        del model
    return result


def qualifies(candidate: Measured, full: Measured) -> bool:
    """All three gateway targets met against ``full`` on this task, with a bounded size."""
    return (
        candidate.cap_bytes is not None
        and candidate.cap_bytes <= MAX_BUNDLE_BYTES
        and candidate.bundle_bytes <= MAX_BUNDLE_BYTES
        and candidate.rows_per_second >= MIN_ROWS_PER_SECOND
        and candidate.f1_seed42 >= full.f1_seed42 - MAX_F1_LOSS
        and candidate.f1_mean >= full.f1_mean - MAX_F1_LOSS
    )


def show(task: Task, rows: list[Measured], full: Measured) -> None:
    """Print one task's table."""
    print(f"\n{int(task)}-class task")
    print(
        f"{'forest':<22} {'leaves':>9} {'bundle MB':>9} {'at cap MB':>9} {'skl2onnx MB':>11} "
        f"{'rows/s/core':>11} {'F1 seed42':>9} {'F1 mean':>8} {'F1 sd':>6} "
        f"{'parity agree/diff':>17}  ok"
    )
    for row in rows:
        ok = "-" if row is full else ("yes" if qualifies(row, full) else "no")
        sd = statistics.pstdev(row.f1_by_seed) if len(row.f1_by_seed) > 1 else 0.0
        cap = "unbounded" if row.cap_bytes is None else f"{row.cap_bytes / 1e6:.1f}"
        dense = "-" if row.skl2onnx_bytes is None else f"{row.skl2onnx_bytes / 1e6:.1f}"
        print(
            f"{row.name:<22} {row.leaves:9,} {row.bundle_bytes / 1e6:9.1f} {cap:>9} "
            f"{dense:>11} {row.rows_per_second:11,.0f} "
            f"{row.f1_seed42:9.4f} {row.f1_mean:8.4f} {sd:6.4f} {row.parity:>17}  {ok}"
        )


def size_at_scale(directory: Path) -> None:
    """Train ``GATEWAY_FOREST`` on a pipeline balance artifact; print its size as ONNX."""
    from iotad.offline.models.estimators import build_estimator
    from iotad.offline.models.forest_onnx import forest_to_onnx
    from iotad.offline.pipeline_data import load_balanced

    balanced = load_balanced(directory)
    classes = sorted(set(balanced.y.tolist()))
    codes = np.searchsorted(classes, balanced.y)
    forest = build_estimator(ModelKind.RF_COMPACT, Task.LABEL, SklearnConfig(), 42)
    started = time.perf_counter()
    forest.fit(balanced.x, codes)
    seconds = time.perf_counter() - started
    graph = forest_to_onnx(forest, balanced.x.shape[1], 17, "features", "probabilities")
    weights = next(a for a in graph.graph.node[0].attribute if a.name == "class_weights")
    leaves = sum(int(tree.tree_.n_leaves) for tree in forest.estimators_)
    print(
        f"{directory}: {len(codes):,} rows, {len(classes)} classes, {balanced.x.shape[1]} features"
    )
    print(
        f"{label(GATEWAY_FOREST)}: fit {seconds:.0f} s, {leaves:,} leaves, "
        f"{len(weights.floats):,} leaf weights, ONNX {graph.ByteSize() / 1e6:.1f} MB "
        f"(limit {MAX_BUNDLE_BYTES / 1e6:.0f} MB for the whole bundle)"
    )


def convert_trained(directory: Path) -> None:
    """Convert a trained forest of the pipeline; print time, size and the process's peak RSS."""
    import resource

    import onnxruntime as ort

    from iotad.offline.model_store import load_trained
    from iotad.offline.models.onnx_graphs import to_onnx

    def peak_gb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    started = time.perf_counter()
    model = load_trained(directory)
    forest = model.estimator
    leaves = sum(int(tree.tree_.n_leaves) for tree in forest.estimators_)
    print(
        f"{directory}: {model.kind.value}, {len(forest.estimators_)} trees, {leaves:,} leaves, "
        f"{len(model.classes)} classes; loaded in {time.perf_counter() - started:.0f} s, "
        f"peak RSS {peak_gb():.1f} GiB"
    )
    started = time.perf_counter()
    graph = to_onnx(model, int(forest.n_features_in_), 17)
    print(
        f"converted in {time.perf_counter() - started:.0f} s: {graph.size_bytes / 1e6:.0f} MB, "
        f"peak RSS {peak_gb():.1f} GiB"
    )
    started = time.perf_counter()
    ort.InferenceSession(graph.model, providers=["CPUExecutionProvider"])
    print(f"onnxruntime session in {time.perf_counter() - started:.0f} s, peak {peak_gb():.1f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="34,8", help="tasks, e.g. 34,8")
    parser.add_argument("--seeds", default="42,43,44", help="seeds for the mean macro-F1")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per forest")
    parser.add_argument("--only", type=int, nargs="*", help="candidate indexes to run")
    parser.add_argument(
        "--skl2onnx", action="store_true", help="also convert with skl2onnx to compare sizes"
    )
    parser.add_argument("--balanced", type=Path, help="size check on a pipeline balance artifact")
    parser.add_argument("--convert", type=Path, help="convert a pipeline-trained forest")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.convert:
        print(describe())
        convert_trained(args.convert)
        return
    if args.balanced:
        print(describe())
        size_at_scale(args.balanced)
        return
    from support.offline_data import require_data
    from support.task_datasets import make_task_dataset

    require_data()
    seeds = [int(s) for s in args.seeds.split(",")]
    seeds = [42, *[s for s in seeds if s != 42]]
    candidates = [c for i, c in enumerate(CANDIDATES) if args.only is None or i in args.only]
    print(describe())
    print(f"seeds {seeds}; batch {BATCH}; onnxruntime intra_op_num_threads=1")
    measured: dict[Task, list[Measured]] = {}
    with tempfile.TemporaryDirectory(prefix="compact-forest-") as tmp:
        for task in (Task(int(t)) for t in args.tasks.split(",")):
            dataset = make_task_dataset(
                task,
                train_rows_per_capture=None,
                test_rows_per_capture=None,
                include_merged=False,
                test_fraction=0.2,
            )
            print(
                f"{int(task)}-class: {len(dataset.y_train):,} train rows, "
                f"{len(dataset.y_test):,} test rows, {len(dataset.classes)} classes, "
                f"{len(dataset.feature_names)} features (real per-class captures, block split)"
            )
            started = time.perf_counter()
            work = Path(tmp)
            rows = [measure(dataset, None, seeds, work, args.seconds, args.skl2onnx)]
            rows += [
                measure(dataset, c, seeds, work, args.seconds, args.skl2onnx) for c in candidates
            ]
            measured[task] = rows
            show(task, rows, rows[0])
            print(f"({time.perf_counter() - started:.0f} s)")
    passing = [
        (min(rows[i + 1].f1_mean - rows[0].f1_mean for rows in measured.values()), i)
        for i in range(len(candidates))
        if all(qualifies(rows[i + 1], rows[0]) for rows in measured.values())
    ]
    if not passing:
        print("\nno candidate meets all three targets on every task with a bounded size")
        return
    margin, index = max(passing)
    chosen = candidates[index]
    print(
        f"\nchosen (most accurate qualifying, worst-task mean macro-F1 {margin:+.4f} vs full): "
        f"{label(chosen)} = {chosen.model_dump()}"
    )
    same = "matches" if chosen == GATEWAY_FOREST else "DIFFERS FROM"
    print(f"this {same} GATEWAY_FOREST {GATEWAY_FOREST.model_dump()}")


if __name__ == "__main__":
    main()

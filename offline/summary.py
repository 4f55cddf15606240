"""What a run used and produced, in words: ``run.json`` per protocol, and the side-by-side
results document ``iotad offline report`` writes (both protocols, the data used, the commands).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iotad.errors import ArtifactError
from iotad.offline.artifacts import code_version
from iotad.offline.types import ModelKind
from iotad.schemas.labels import LABELS

if TYPE_CHECKING:
    from iotad.offline.pipeline import RunContext
    from iotad.offline.pipeline_data import PreparedData, TaskData
    from iotad.offline.pipeline_models import EvaluatedModel

PROTOCOLS: tuple[str, ...] = ("holdout", "study")
MAX_FIGURE_BYTES = 300_000


def run_record(
    context: RunContext,
    data: PreparedData,
    tasks: Sequence[TaskData],
    evaluated: Sequence[EvaluatedModel],
) -> dict[str, Any]:
    """Everything a reader needs to trust a protocol's results (written as ``run.json``)."""
    request = context.request
    labels = {str(k): int(v) for k, v in data.clean_report["labels_out"].items()}
    split = data.split_report
    return {
        "protocol": request.protocol,
        "command": request.command,
        "code_version": code_version(),
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "category_map": request.category_map,
        "data": {
            "paths": [str(p) for p in request.data],
            "layout": data.layout.value,
            "rows_by_layout": dict(data.ingest_report["rows_by_layout"]),
            "malformed_rows": data.ingest_report["malformed_rows"],
            "duplicates_removed": data.clean_report["duplicates_removed"],
            "dropped_null_or_inf": data.clean_report["dropped_null_or_inf"],
            "labels_present": labels,
            "labels_missing": [label for label in LABELS if label not in labels],
            "split": None
            if split is None
            else {
                "train_rows": split["train_rows"],
                "test_rows": split["test_rows"],
                "by_label": {s["label"]: [s["train"], s["test"]] for s in split["labels"]},
            },
        },
        "tasks": [_task_record(t) for t in tasks],
        "models": [
            {
                "task": int(m.evaluation.task),
                "model": m.evaluation.kind.value,
                "accuracy": m.evaluation.accuracy,
                "macro_f1": m.evaluation.macro_f1,
                "test_rows": m.evaluation.test_rows,
                "fit_seconds": m.evaluation.fit_seconds,
                "predict_seconds": m.evaluation.predict_seconds,
                "bundle": m.bundle,
            }
            for m in evaluated
        ],
        "stages": [
            {
                "stage": r.stage.value,
                "key": r.key,
                "status": r.status,
                "seconds": round(r.seconds, 2),
            }
            for r in context.runner.records
        ],
    }


def _task_record(task: TaskData) -> dict[str, Any]:
    dataset = task.dataset
    return {
        "task": int(task.task),
        "skipped": task.skipped,
        "classes": list(dataset.classes) if dataset is not None else [],
        "train_rows": len(dataset.y_train) if dataset is not None else 0,
        "test_rows": len(dataset.y_test) if dataset is not None else 0,
        "features": list(dataset.feature_names) if dataset is not None else [],
        "notes": list(dataset.notes) if dataset is not None else [],
        "balance": dict(task.balance_report),
        "reduce_dropped": list(task.reduce_report.get("dropped", [])),
    }


def _load_run(out: Path, protocol: str) -> dict[str, Any] | None:
    path = out / protocol / "results" / "run.json"
    if not path.is_file():
        return None
    value: dict[str, Any] = json.loads(path.read_text())
    return value


def _side_by_side(runs: Mapping[str, dict[str, Any]]) -> list[str]:
    rows: dict[tuple[int, str], dict[str, dict[str, Any]]] = {}
    for protocol, run in runs.items():
        for model in run["models"]:
            rows.setdefault((model["task"], model["model"]), {})[protocol] = model
    lines = [
        "| task | model | " + " | ".join(f"{p} accuracy | {p} macro-F1" for p in runs) + " |",
        "|---|---|" + "---:|---:|" * len(runs),
    ]
    order = [kind.value for kind in ModelKind]
    for (task, model), by in sorted(rows.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
        cells = []
        for protocol in runs:
            found = by.get(protocol)
            cells += (
                [f"{found['accuracy']:.3f}", f"{found['macro_f1']:.3f}"] if found else ["–", "–"]
            )
        lines.append(f"| {task} | {model} | " + " | ".join(cells) + " |")
    return lines


def _missing_bundles(runs: Mapping[str, dict[str, Any]]) -> list[str]:
    missing = [
        f"{protocol} task {m['task']} {m['model']}"
        for protocol, run in runs.items()
        for m in run["models"]
        if not m.get("bundle")
    ]
    if not missing:
        return []
    return [f"Evaluated but not exported as a bundle: {', '.join(missing)}.", ""]


def _data_section(runs: Mapping[str, dict[str, Any]]) -> list[str]:
    first = next(iter(runs.values()))
    data = first["data"]
    split = runs.get("holdout", {}).get("data", {}).get("split")
    lines = [
        f"Layout trained on: **{data['layout']}** "
        f"(rows ingested per layout: {data['rows_by_layout']}; malformed rows left out: "
        f"{data['malformed_rows']}; rows with an empty or infinite value dropped: "
        f"{data['dropped_null_or_inf']}; exact duplicates removed: {data['duplicates_removed']}).",
        "",
        "| label | rows after cleaning | holdout train | holdout test |",
        "|---|---:|---:|---:|",
    ]
    for label, rows in data["labels_present"].items():
        train, test = (split or {}).get("by_label", {}).get(label, ["–", "–"])
        lines.append(f"| {label} | {rows} | {train} | {test} |")
    lines += ["", f"Labels with no row in the data ({len(data['labels_missing'])}): "
              + (", ".join(data["labels_missing"]) or "none") + "."]  # fmt: skip
    return lines


def _task_notes(runs: Mapping[str, dict[str, Any]]) -> list[str]:
    lines = []
    for protocol, run in runs.items():
        for task in run["tasks"]:
            head = f"- **{protocol}, task {task['task']}**: "
            if task["skipped"]:
                lines.append(head + f"skipped ({task['skipped']}).")
                continue
            balance = task["balance"]
            lines.append(
                head + f"{len(task['classes'])} classes, {task['train_rows']} training rows, "
                f"{task['test_rows']} test rows, {len(task['features'])} features; balance target "
                f"{balance.get('target')} (requested: {balance.get('requested_target')}). "
                + " ".join(f"{n.rstrip('.')}." for n in task["notes"])
            )
    return lines


def write_report(out: Path, dest: Path, *, figures: bool = True) -> Path:
    """Write the side-by-side results document for the runs under ``out`` to ``dest``.

    Figures (correlation heatmaps, and the confusion matrix of each task's best model by
    macro-F1) are copied into ``<dest's folder>/img/`` when under 300 KB.

    Raises
    ------
    ArtifactError
        if neither protocol has results under ``out``.
    """
    runs = {p: run for p in PROTOCOLS if (run := _load_run(out, p)) is not None}
    if not runs:
        raise ArtifactError(
            f"no results under {out} (looked for <protocol>/results/run.json)",
            hint="run `iotad offline run --out DIR` for each protocol first",
        )
    lines = [
        "# Results on the real CICIoT2023 rows",
        "",
        "Generated by `iotad offline report` from the runs below; every figure here comes from "
        "those commands, on the rows in `../shared/data/ciciot2023` (see its README and "
        "PROVENANCE). `holdout` splits by capture file / time block before anything is fitted; "
        "`study` reproduces the published protocol (scaling and balancing before a random 80/20 "
        "row split), whose scores are inflated by leakage.",
        "",
        "## Accuracy and macro-F1, side by side",
        "",
        *_side_by_side(runs),
        "",
        *_missing_bundles(runs),
        "## Data used",
        "",
        *_data_section(runs),
        "",
        "## Per task",
        "",
        *_task_notes(runs),
        "",
        "## Commands",
        "",
        *[
            f"- {p}: `{run['command']}` (code {run['code_version'][:12]}, {run['written_at']})"
            for p, run in runs.items()
        ],  # fmt: skip
    ]
    for protocol in runs:
        table = out / protocol / "results" / "results.md"
        if table.is_file():
            lines += ["", f"## {protocol}: full results table", "", table.read_text().strip()]
    if figures:
        lines += _figures(out, dest.parent / "img", runs)
    lines += _kept_sections(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(lines) + "\n")
    return dest


_SECTION = re.compile(r"<!-- section: ([a-z0-9-]+) -->.*?<!-- end section: \1 -->", re.DOTALL)


def _kept_sections(dest: Path) -> list[str]:
    """Sections other commands wrote into ``dest`` between ``<!-- section: NAME -->`` and
    ``<!-- end section: NAME -->`` (e.g. ``bench/baseline_report.py``), kept as they are."""
    if not dest.is_file():
        return []
    return [line for m in _SECTION.finditer(dest.read_text()) for line in ("", m.group(0))]


def _figures(out: Path, img: Path, runs: Mapping[str, dict[str, Any]]) -> list[str]:
    wanted: list[tuple[Path, str, str]] = []
    for protocol, run in runs.items():
        best: dict[int, dict[str, Any]] = {}
        for model in run["models"]:
            if model["task"] not in best or model["macro_f1"] > best[model["task"]]["macro_f1"]:
                best[model["task"]] = model
        for task in sorted({t["task"] for t in run["tasks"] if not t["skipped"]}):
            reduce_dir = out / protocol / "reduce" / f"task{task}"
            for when in ("before", "after"):
                name = f"{protocol}-task{task}-heatmap-{when}.png"
                caption = f"{protocol}, task {task}: correlation {when} reduction"
                wanted.append((reduce_dir / f"heatmap_{when}.png", name, caption))
            if task in best:
                kind = best[task]["model"]
                wanted.append(
                    (out / protocol / "evaluate" / f"task{task}" / kind / "confusion.png",
                     f"{protocol}-task{task}-{kind}-confusion.png",
                     f"{protocol}, task {task}: confusion matrix of {kind} (best macro-F1)")
                )  # fmt: skip
    lines = ["", "## Figures", ""]
    for source, name, caption in wanted:
        if not source.is_file():
            continue
        if source.stat().st_size > MAX_FIGURE_BYTES:
            lines.append(f"- {caption}: `{source}` (not copied: over 300 KB)")
            continue
        img.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, img / name)
        lines.append(f"![{caption}](img/{name})")
    return lines


__all__ = ["PROTOCOLS", "run_record", "write_report"]

"""The results table in the study's format: model × task, ``accuracy / macro-F1``, one protocol.

The Markdown table mirrors the study's (rows Random Forest, DNN, Logistic Regression, AdaBoost,
Perceptron, with the compact forest after the full one; columns 2-, 8- and 34-class; two decimals
like the study unless asked otherwise). The CSV has one row per model and task with full
precision, test rows and timings, for anything that compares runs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from iotad.offline.types import ModelEvaluation, ModelKind, Protocol
from iotad.schemas.labels import Task

#: Display names, in the study's row order.
MODEL_NAMES: dict[ModelKind, str] = {
    ModelKind.RF: "Random Forest",
    ModelKind.RF_COMPACT: "Random Forest (compact)",
    ModelKind.DNN: "DNN",
    ModelKind.LR: "Logistic Regression",
    ModelKind.ADA: "AdaBoost",
    ModelKind.PERCEPTRON: "Perceptron",
}

CSV_COLUMNS = (
    "protocol", "model", "task", "accuracy", "macro_f1", "test_rows", "fit_seconds",
    "predict_seconds",
)  # fmt: skip


@dataclass(frozen=True)
class ResultsTable:
    """One protocol's results as Markdown (study format) and CSV (full precision)."""

    protocol: Protocol
    tasks: tuple[Task, ...]
    markdown: str
    csv: str


def results_table(evaluations: Sequence[ModelEvaluation], digits: int = 2) -> ResultsTable:
    """Tabulate evaluations of one protocol: one Markdown row per model, one column per task.

    Raises
    ------
    ValueError
        if ``evaluations`` is empty, mixes protocols, or holds one model and task twice.

    Examples
    --------
    A cell reads ``0.97 / 0.96`` (accuracy / macro-F1); ``–`` marks a model not run on a task.
    """
    if not evaluations:
        raise ValueError("no evaluations to tabulate")
    protocols = sorted({e.protocol for e in evaluations})
    if len(protocols) > 1:
        raise ValueError(f"one results table holds one protocol, got {protocols}")
    cells: dict[tuple[ModelKind, Task], ModelEvaluation] = {}
    for evaluation in evaluations:
        key = (evaluation.kind, evaluation.task)
        if key in cells:
            raise ValueError(f"{evaluation.kind.value} {int(evaluation.task)}-class appears twice")
        cells[key] = evaluation
    tasks = tuple(sorted({task for _, task in cells}))
    kinds = [kind for kind in MODEL_NAMES if any((kind, task) in cells for task in tasks)]
    header = "| model | " + " | ".join(f"{int(t)}-class" for t in tasks) + " |"
    lines = [header, "|---|" + "---|" * len(tasks)]
    for kind in kinds:
        row = [_cell(cells.get((kind, task)), digits) for task in tasks]
        lines.append(f"| {MODEL_NAMES[kind]} | " + " | ".join(row) + " |")
    ordered = [cells[(kind, task)] for kind in kinds for task in tasks if (kind, task) in cells]
    markdown = "\n".join(lines) + "\n"
    return ResultsTable(evaluations[0].protocol, tasks, markdown, _csv(ordered))


def _cell(evaluation: ModelEvaluation | None, digits: int) -> str:
    if evaluation is None:
        return "–"
    return f"{evaluation.accuracy:.{digits}f} / {evaluation.macro_f1:.{digits}f}"


def _csv(evaluations: Sequence[ModelEvaluation]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in evaluations:
        writer.writerow(
            [
                e.protocol,
                e.kind.value,
                int(e.task),
                f"{e.accuracy:.6f}",
                f"{e.macro_f1:.6f}",
                e.test_rows,
                f"{e.fit_seconds:.3f}",
                f"{e.predict_seconds:.3f}",
            ]
        )
    return buffer.getvalue()


__all__ = ["CSV_COLUMNS", "MODEL_NAMES", "ResultsTable", "results_table"]

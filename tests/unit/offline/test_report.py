"""results_table: the study's model × task layout, Markdown and CSV."""

import csv
import io

import numpy as np
import pytest

from iotad.offline.report import CSV_COLUMNS, results_table
from iotad.offline.types import ModelEvaluation, ModelKind
from iotad.schemas.labels import Task


def _evaluation(
    kind: ModelKind, task: Task, accuracy: float, f1: float, protocol: str = "holdout"
) -> ModelEvaluation:
    return ModelEvaluation(
        kind=kind,
        task=task,
        protocol=protocol,  # type: ignore[arg-type]
        accuracy=accuracy,
        macro_f1=f1,
        per_class={},
        confusion=np.zeros((2, 2), dtype=np.int64),
        classes=("a", "b"),
        test_rows=100,
        fit_seconds=1.25,
        predict_seconds=0.5,
        report_text="",
    )


def test_markdown_follows_the_study_layout() -> None:
    table = results_table(
        [
            _evaluation(ModelKind.PERCEPTRON, Task.LABEL, 0.46, 0.41),
            _evaluation(ModelKind.RF, Task.BINARY, 0.994, 0.987),
            _evaluation(ModelKind.RF, Task.LABEL, 0.97, 0.966),
            _evaluation(ModelKind.DNN, Task.BINARY, 0.99, 0.99),
        ]
    )
    lines = table.markdown.splitlines()
    assert lines[0] == "| model | 2-class | 34-class |"
    assert lines[2] == "| Random Forest | 0.99 / 0.99 | 0.97 / 0.97 |"
    assert lines[3] == "| DNN | 0.99 / 0.99 | – |"
    assert lines[4] == "| Perceptron | – | 0.46 / 0.41 |"
    assert table.protocol == "holdout" and table.tasks == (Task.BINARY, Task.LABEL)


def test_csv_has_full_precision_rows() -> None:
    table = results_table(
        [_evaluation(ModelKind.RF_COMPACT, Task.CATEGORY, 0.912345678, 0.9)], digits=3
    )
    assert "| Random Forest (compact) | 0.912 / 0.900 |" in table.markdown
    rows = list(csv.DictReader(io.StringIO(table.csv)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["model"] == "rf-compact" and rows[0]["task"] == "8"
    assert float(rows[0]["accuracy"]) == pytest.approx(0.912346)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="no evaluations"):
        results_table([])
    with pytest.raises(ValueError, match="one protocol"):
        results_table(
            [
                _evaluation(ModelKind.RF, Task.BINARY, 1, 1),
                _evaluation(ModelKind.LR, Task.BINARY, 1, 1, protocol="study"),
            ]
        )
    with pytest.raises(ValueError, match="twice"):
        results_table([_evaluation(ModelKind.RF, Task.BINARY, 1, 1)] * 2)

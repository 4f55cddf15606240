"""The study's Keras DNNs, one architecture per task (STUDY_PROTOCOL.md, "DNN").

* 2-class: Dense(128 relu) → Dropout(0.3) → Dense(64 relu) → Dropout(0.2) → Dense(1 sigmoid),
  binary cross-entropy.
* 8-class: Dense(256 relu) → Dropout(0.3) → Dense(128 relu) → Dropout(0.2) → Dense(k softmax),
  categorical cross-entropy.
* 34-class: Dense(256 relu) → Dropout(0.3) → Dense(128 relu) → Dropout(0.3) → Dense(k softmax),
  categorical cross-entropy.

Adam (Keras defaults) everywhere. ``k`` is the number of classes present in the training rows,
which is 8 or 34 when every class has data. Epochs, batch sizes and the validation split are in
:class:`iotad.offline.config.KerasConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iotad.schemas.labels import Task


@dataclass(frozen=True)
class DnnArchitecture:
    """Hidden layer widths and the dropout after each, for one task."""

    hidden: tuple[int, int]
    dropout: tuple[float, float]

    def describe(self, n_features: int, n_outputs: int) -> dict[str, Any]:
        """A JSON-friendly description (recorded with the trained model)."""
        return {
            "inputs": n_features,
            "hidden": list(self.hidden),
            "dropout": list(self.dropout),
            "outputs": n_outputs,
            "output_activation": "sigmoid" if n_outputs == 1 else "softmax",
            "optimizer": "adam",
        }


ARCHITECTURES: dict[Task, DnnArchitecture] = {
    Task.BINARY: DnnArchitecture(hidden=(128, 64), dropout=(0.3, 0.2)),
    Task.CATEGORY: DnnArchitecture(hidden=(256, 128), dropout=(0.3, 0.2)),
    Task.LABEL: DnnArchitecture(hidden=(256, 128), dropout=(0.3, 0.3)),
}


def output_units(task: Task, n_classes: int) -> int:
    """One sigmoid unit for the binary task, one softmax unit per class otherwise."""
    return 1 if task is Task.BINARY and n_classes == 2 else n_classes


def build_dnn(task: Task, n_features: int, n_classes: int) -> Any:
    """A compiled ``keras.Sequential`` for ``task`` (seed Keras before calling for repeatability).

    Examples
    --------
    >>> model = build_dnn(Task.BINARY, 10, 2)  # doctest: +SKIP
    >>> model.output_shape  # doctest: +SKIP
    (None, 1)
    """
    import keras

    architecture = ARCHITECTURES[task]
    units = output_units(task, n_classes)
    layers: list[Any] = [keras.Input(shape=(n_features,), name="features")]
    for width, dropout in zip(architecture.hidden, architecture.dropout, strict=True):
        layers += [keras.layers.Dense(width, activation="relu"), keras.layers.Dropout(dropout)]
    activation = "sigmoid" if units == 1 else "softmax"
    layers.append(keras.layers.Dense(units, activation=activation, name="scores"))
    model = keras.Sequential(layers, name=f"dnn_{int(task)}class")
    loss = "binary_crossentropy" if units == 1 else "categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(), loss=loss, metrics=["accuracy"])
    return model


__all__ = ["ARCHITECTURES", "DnnArchitecture", "build_dnn", "output_units"]

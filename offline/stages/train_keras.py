"""Stage ``train_keras``: fit the study's Keras DNN for one task.

The architecture per task is :data:`iotad.offline.models.dnn.ARCHITECTURES`; epochs, batch size
and validation split come from :class:`~iotad.offline.config.KerasConfig` (the study's: 10/10/20
epochs, batch 512/512/64, a 10 % validation split for 34 classes). Keras takes the validation
split from the *end* of the arrays, so the training rows are shuffled (seeded) first: the data
side hands them over grouped by capture, and the tail would otherwise be one class. TensorFlow is
imported here, inside the function, never at module import.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from iotad.errors import ConfigError
from iotad.offline.config import KerasConfig
from iotad.offline.models.dnn import ARCHITECTURES, build_dnn, output_units
from iotad.offline.models.targets import encode, training_classes
from iotad.offline.types import ModelKind, TaskDataset, TrainedModel

logger = logging.getLogger(__name__)


def train_keras(dataset: TaskDataset, cfg: KerasConfig) -> TrainedModel:
    """Fit the DNN of ``dataset.task`` on its training rows (seeded with ``dataset.seed``).

    Raises
    ------
    DataError
        if the training rows hold fewer than two classes.
    ConfigError
        if ``cfg`` has no epochs/batch size for this task.
    """
    import keras

    task = int(dataset.task)
    epochs, batch_size, validation_split = _schedule(cfg, task)
    classes = training_classes(dataset)
    codes = encode(dataset.y_train, classes)
    units = output_units(dataset.task, len(classes))
    keras.utils.set_random_seed(dataset.seed)
    model = build_dnn(dataset.task, dataset.x_train.shape[1], len(classes))
    if units == 1:
        targets = codes.astype(np.float32)[:, None]
    else:
        targets = np.eye(units, dtype=np.float32)[codes]
    order = np.random.default_rng(dataset.seed).permutation(len(codes))
    started = time.perf_counter()
    history = model.fit(
        dataset.x_train[order],
        targets[order],
        epochs=epochs,
        batch_size=batch_size,
        validation_split=validation_split,
        shuffle=True,
        verbose=0,
        callbacks=[_epoch_logger(task, epochs)],
    )
    seconds = time.perf_counter() - started
    logger.info("trained dnn on %d-class (%d rows) in %.2f s", task, len(codes), seconds)
    params: dict[str, Any] = {
        **ARCHITECTURES[dataset.task].describe(dataset.x_train.shape[1], units),
        "epochs": epochs,
        "batch_size": batch_size,
        "validation_split": validation_split,
        "seed": dataset.seed,
        "final_loss": float(history.history["loss"][-1]),
    }
    if "val_loss" in history.history:
        params["final_val_loss"] = float(history.history["val_loss"][-1])
    return TrainedModel(ModelKind.DNN, dataset.task, model, classes, seconds, params)


def _schedule(cfg: KerasConfig, task: int) -> tuple[int, int, float]:
    try:
        return cfg.epochs[task], cfg.batch_size[task], cfg.validation_split.get(task, 0.0)
    except KeyError:
        raise ConfigError(
            f"keras config has no epochs/batch_size for the {task}-class task",
            hint="give epochs and batch_size for every task trained (keys 2, 8, 34)",
        ) from None


def _epoch_logger(task: int, epochs: int) -> Any:
    import keras

    class EpochLog(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
            logger.info("dnn %d-class epoch %d/%d: %s", task, epoch + 1, epochs, shown)

    return EpochLog()


__all__ = ["train_keras"]

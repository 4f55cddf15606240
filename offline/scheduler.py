"""Where the pipeline's Dask work runs: local threads or processes, a local distributed
cluster, or an existing cluster (``--scheduler ADDRESS``).

:class:`DaskExecutor` is a context manager. Inside it, Dask collections (``dask.dataframe``,
dask-ml) compute on the chosen scheduler, and :meth:`DaskExecutor.map` runs independent tasks
(one per file or Parquet part) with a progress bar.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, Literal, TypeVar

from iotad.console import NullProgress, ProgressTracker

logger = logging.getLogger(__name__)

LocalScheduler = Literal["threads", "processes", "distributed"]
T = TypeVar("T")
R = TypeVar("R")


class DaskExecutor:
    """A Dask scheduler for the duration of a ``with`` block.

    Parameters
    ----------
    address
        an existing cluster's scheduler address (``tcp://host:8786``); when given, ``local``
        is ignored and nothing is started or stopped.
    local
        without an address: ``threads`` (one process, the GIL released by pyarrow and numpy),
        ``processes`` (a process pool) or ``distributed`` (a local cluster, one worker process
        per core).
    workers
        local worker count (default: the CPU count).
    """

    def __init__(
        self,
        address: str | None = None,
        local: LocalScheduler = "threads",
        workers: int | None = None,
    ) -> None:
        self.address = address
        self.local = local
        self.workers = workers or os.cpu_count() or 1
        self._client: Any = None
        self._stack = ExitStack()

    @property
    def description(self) -> str:
        """What runs the work, for logs and manifests."""
        if self.address:
            return f"dask cluster at {self.address}"
        return f"dask {self.local} ({self.workers} workers)"

    def __enter__(self) -> DaskExecutor:
        dask = _module("dask")
        if self.address or self.local == "distributed":
            distributed = _module("distributed")
            if self.address:
                self._client = self._stack.enter_context(distributed.Client(self.address))
            else:
                self._stack.enter_context(_quiet_logger("distributed", logging.WARNING))
                cluster = self._stack.enter_context(
                    distributed.LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",
                        silence_logs=logging.WARNING,
                    )
                )
                self._client = self._stack.enter_context(distributed.Client(cluster))
        else:
            self._stack.enter_context(
                dask.config.set(scheduler=self.local, num_workers=self.workers)
            )
        logger.info("running Dask work on %s", self.description)
        return self

    def __exit__(self, *exc: object) -> None:
        self._client = None
        self._stack.close()

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        progress: ProgressTracker | None = None,
        description: str = "tasks",
    ) -> list[R]:
        """``[fn(item) for item in items]``, run in parallel, in the order of ``items``.

        ``fn`` and the items must pickle when the scheduler is not ``threads``.
        """
        tracker = progress or NullProgress()
        task = tracker.add_task(description, total=len(items))
        if not items:
            return []
        if self._client is not None:
            return self._map_distributed(fn, items, tracker, task)
        dask = _module("dask")
        delayed = [dask.delayed(fn, pure=False)(item) for item in items]
        with _advance_on_finish(tracker, task, [d.key for d in delayed]):
            results = dask.compute(*delayed)
        return list(results)

    def _map_distributed(
        self, fn: Callable[[T], R], items: Sequence[T], tracker: ProgressTracker, task: Any
    ) -> list[R]:
        futures = self._client.map(fn, items, pure=False)
        for _ in _module("distributed").as_completed(futures):
            tracker.advance(task)
        return [future.result() for future in futures]


@contextmanager
def _quiet_logger(name: str, level: int) -> Iterator[None]:
    """Raise a library logger's level for the block (a local cluster logs every worker's start)."""
    logger_ = logging.getLogger(name)
    before = logger_.level
    logger_.setLevel(level)
    try:
        yield
    finally:
        logger_.setLevel(before)


def _module(name: str) -> Any:
    """Dask's modules, imported when first used (the CLI stays fast; Dask is untyped here)."""
    return importlib.import_module(name)


@contextmanager
def _advance_on_finish(
    tracker: ProgressTracker, task: Any, keys: Sequence[Hashable]
) -> Iterator[None]:
    callbacks = _module("dask.callbacks")
    wanted = set(keys)

    def posttask(key: Hashable, result: object, dsk: object, state: object, worker: object) -> None:
        if key in wanted:
            tracker.advance(task)

    with callbacks.Callback(posttask=posttask):
        yield


__all__ = ["DaskExecutor", "LocalScheduler"]

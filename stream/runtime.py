"""State one worker shares between its scoring agent, model control and web views."""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from iotad.settings import Settings
from iotad.stream.core.alert import AlertThrottle, SeverityPolicy, ThrottleState
from iotad.stream.core.limits import StructureLimits
from iotad.stream.core.pipeline import BatchOutcome, ScoringOptions, process_batch
from iotad.stream.core.types import InboundMessage
from iotad.stream.loader import LoadedModel
from iotad.stream.metrics import WorkerMetrics
from iotad.stream.topics import WorkerTopics


class ModelSlot:
    """The model in service. The agent reads it once per batch, so a swap lands between
    batches: the batch in flight finishes on the model it started with."""

    def __init__(self, loaded: LoadedModel) -> None:
        self._current = loaded

    @property
    def current(self) -> LoadedModel:
        """The model the next batch will be scored with."""
        return self._current

    def swap(self, loaded: LoadedModel) -> LoadedModel:
        """Serve ``loaded`` from the next batch on; returns the model it replaces."""
        previous, self._current = self._current, loaded
        return previous


def worker_identity() -> str:
    """``host:pid``, how this worker names itself in control replies and logs."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class WorkerRuntime:
    """Everything the worker's parts share (one per process)."""

    settings: Settings
    topics: WorkerTopics
    slot: ModelSlot
    options: ScoringOptions
    metrics: WorkerMetrics
    worker_id: str = field(default_factory=worker_identity)
    throttle_state: ThrottleState = field(default_factory=ThrottleState)
    executor: ThreadPoolExecutor | None = None
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    #: Consumer lag per (topic, partition), refreshed in place by ``refresh_lag``.
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    control_ready: bool = False

    @classmethod
    def create(cls, settings: Settings, loaded: LoadedModel) -> WorkerRuntime:
        """A runtime serving ``loaded`` under ``settings``."""
        stream = settings.stream
        throttle = (
            AlertThrottle(
                int(stream.alert_throttle_window_s * 1000),
                stream.alert_throttle_max,
                max_keys=stream.alert_throttle_max_keys,
            )
            if stream.alert_throttle_window_s > 0
            else None
        )
        options = ScoringOptions(
            max_message_bytes=stream.max_message_bytes,
            max_dead_letter_original_bytes=stream.dead_letter_original_bytes,
            severity=SeverityPolicy(),
            throttle=throttle,
            limits=StructureLimits(stream.max_nesting_depth, stream.max_array_length),
            max_batch_bytes=stream.max_batch_bytes,
        )
        lag: dict[tuple[str, int], int] = {}
        runtime = cls(
            settings=settings,
            topics=WorkerTopics.from_settings(settings.topics),
            slot=ModelSlot(loaded),
            options=options,
            metrics=WorkerMetrics(lambda: dict(lag)),
            lag=lag,
            executor=(
                ThreadPoolExecutor(1, thread_name_prefix="iotad-score")
                if stream.score_in_thread
                else None
            ),
        )
        runtime.show_model(loaded)
        return runtime

    def show_model(self, loaded: LoadedModel) -> None:
        """Publish the model in service on ``/metrics`` (``iotad_model_info``, with the key that
        signed it, and ``iotad_model_unsigned``)."""
        ref = loaded.serving.model
        self.metrics.model.info(
            {
                "name": ref.name,
                "version": ref.version,
                "sha256": ref.sha256,
                "task": str(loaded.manifest.task),
                "path": str(loaded.path),
                "signed_by": loaded.signed_by or "unsigned",
            }
        )
        self.metrics.model_unsigned.set(0 if loaded.signed_by else 1)

    async def score(self, messages: list[InboundMessage], loaded: LoadedModel) -> BatchOutcome:
        """Run the scoring core on a batch (in the scoring thread when configured)."""
        call = functools.partial(
            process_batch,
            messages,
            loaded.serving,
            self.options,
            now_ms=int(time.time() * 1000),
            throttle_state=self.throttle_state,
        )
        if self.executor is None:
            return call()
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def close(self) -> None:
        """Release the scoring thread."""
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["ModelSlot", "WorkerRuntime", "worker_identity"]

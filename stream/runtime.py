"""State one worker shares between its scoring agent, model control and web views."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from iotad.settings import Settings
from iotad.stream.baseline_learning import BaselineLearner
from iotad.stream.baselines import BaselineRegistry, LoadedBaseline, startup_baselines
from iotad.stream.core.alert import AlertThrottle, SeverityPolicy, ThrottleState
from iotad.stream.core.limits import StructureLimits
from iotad.stream.core.pipeline import BatchOutcome, ScoringOptions, process_batch
from iotad.stream.core.types import InboundMessage
from iotad.stream.loader import LoadedModel
from iotad.stream.metrics import WorkerMetrics
from iotad.stream.topics import WorkerTopics

logger = logging.getLogger(__name__)


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
    baselines: BaselineRegistry = field(default_factory=BaselineRegistry)
    learner: BaselineLearner | None = None

    @classmethod
    def create(
        cls, settings: Settings, loaded: LoadedModel, baselines: BaselineRegistry | None = None
    ) -> WorkerRuntime:
        """A runtime serving ``loaded`` (and the recorded gateway baselines) under ``settings``."""
        stream = settings.stream
        learning = stream.baseline.learn_flows > 0
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
            collect_uncovered=learning,
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
        runtime.baselines = (
            baselines if baselines is not None else startup_baselines(stream, loaded.serving.spec)
        )
        if learning:
            runtime.learner = BaselineLearner(
                stream.baseline,
                out_dir=stream.baseline_dir,
                state_dir=stream.state_dir,
                registry=runtime.baselines,
                on_installed=lambda b: runtime.install_baseline(b, origin="learnt"),
            )
        runtime.show_model(loaded)
        runtime.metrics.gateways_with_baseline.set(len(runtime.baselines.current))
        return runtime

    def install_baseline(self, loaded: LoadedBaseline, *, origin: str) -> None:
        """Serve ``loaded`` for its gateway from the next batch on (thread-safe enough: the map
        is replaced whole)."""
        self.baselines.install(loaded)
        self.metrics.baselines_installed.labels(origin=origin).inc()
        self.metrics.gateways_with_baseline.set(len(self.baselines.current))
        self.metrics.gateways_without_baseline.set(len(self.baselines.missing))
        with contextlib.suppress(KeyError):  # only gateways that learnt online have the gauge
            self.metrics.baseline_learning_flows.remove(loaded.manifest.gateway_id)
        logger.info(
            "gateway %s: now deciding with baseline %s (%s)",
            loaded.manifest.gateway_id,
            loaded.manifest.reference,
            origin,
        )

    def after_batch(self, outcome: BatchOutcome, loaded: LoadedModel) -> None:
        """Baseline bookkeeping once a batch's output is acknowledged: report gateways without
        a baseline (logged once each) and feed the online learner."""
        missing = outcome.missing_baseline
        if not missing:
            return
        m = self.metrics
        for gateway, flows in missing.items():
            m.baseline_missing_flows.labels(gateway=gateway).inc(flows)
        for gateway in self.baselines.newly_missing(missing):
            logger.warning(
                "gateway %s has no baseline: its flows are decided by the classifier alone%s",
                gateway,
                " until it has learnt one"
                if self.learner is not None
                else " (learn one with `iotad baseline learn` and promote it)",
            )
        m.gateways_without_baseline.set(len(self.baselines.missing))
        if self.learner is not None:
            self.learner.observe(outcome.uncovered_rows, loaded.serving.spec)
            for gateway, count in self.learner.collected.items():
                m.baseline_learning_flows.labels(gateway=gateway).set(count)

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
            baselines=self.baselines.current,
        )
        if self.executor is None:
            return call()
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def close(self) -> None:
        """Release the scoring thread."""
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self.learner is not None:
            self.learner.close()


__all__ = ["ModelSlot", "WorkerRuntime", "worker_identity"]

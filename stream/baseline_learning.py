"""Online learning of gateway baselines in the worker (``stream.baseline.learn_flows`` > 0).

A gateway without a baseline has its first ``learn_flows`` flows collected (memory is bounded:
at most ``learn_flows`` rows per gateway and ``max_learning_gateways`` gateways at once). Once
it has them, the baseline is fitted, exported and verified in a thread of its own — never on
the event loop — written under ``stream.baseline_dir``, recorded in the baseline state file and
served from the next batch on. Until then (and if fitting fails) the classifier alone decides
for that gateway. Progress is logged and on ``/metrics``.

The learning flows are taken to be the gateway's normal traffic: learn when the ward is known to
be quiet, or learn offline (``iotad baseline learn``) and promote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from iotad.baseline.export import BaselineConfig, learn_baseline, safe_name
from iotad.schemas.features import LAYOUT_FEATURES
from iotad.settings import BaselineSettings
from iotad.stream.baseline_state import BaselineStore
from iotad.stream.baselines import BaselineRegistry, LoadedBaseline, load_gateway_baseline
from iotad.stream.core.types import FeatureSpec
from iotad.stream.state import BundleRecord

logger = logging.getLogger(__name__)

Installed = Callable[[LoadedBaseline], None]


def baseline_config(settings: BaselineSettings) -> BaselineConfig:
    """The learning parameters of the worker's settings."""
    return BaselineConfig(
        target_far=settings.target_far,
        held_back_fraction=settings.held_back_fraction,
        k=settings.k,
        max_reference_rows=settings.max_reference_rows,
        seed=settings.seed,
    )


class BaselineLearner:
    """Collects learning flows per gateway and fits baselines off the event loop."""

    def __init__(
        self,
        settings: BaselineSettings,
        *,
        out_dir: Path,
        state_dir: Path,
        registry: BaselineRegistry,
        on_installed: Installed,
    ) -> None:
        self.settings = settings
        self.out_dir = Path(out_dir)
        self.store = BaselineStore(state_dir)
        self.registry = registry
        self._on_installed = on_installed
        self._buffers: dict[str, list[NDArray[np.float32]]] = {}
        self._counts: dict[str, int] = {}
        self._fitting: dict[str, Future[LoadedBaseline]] = {}
        self._refused: set[str] = set()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="iotad-baseline-fit")

    @property
    def collected(self) -> Mapping[str, int]:
        """Learning flows collected so far, per gateway still learning."""
        return dict(self._counts)

    def observe(self, rows: Mapping[str, NDArray[np.float32]], spec: FeatureSpec) -> None:
        """Add a batch's flows of gateways without a baseline; start fitting the full ones."""
        need = self.settings.learn_flows
        for gateway, part in rows.items():
            if gateway in self._fitting or gateway in self.registry.current or len(part) == 0:
                continue
            if gateway not in self._counts:
                if len(self._counts) >= self.settings.max_learning_gateways:
                    if gateway not in self._refused:
                        self._refused.add(gateway)
                        logger.warning(
                            "gateway %s: not learning a baseline, %d gateways already are "
                            "(stream.baseline.max_learning_gateways)",
                            gateway,
                            len(self._counts),
                        )
                    continue
                logger.info(
                    "gateway %s: learning its baseline from its first %d flows", gateway, need
                )
                self._counts[gateway] = 0
                self._buffers[gateway] = []
            take = part[: need - self._counts[gateway]]
            self._buffers[gateway].append(np.array(take, dtype=np.float32))
            self._counts[gateway] += len(take)
            if self._counts[gateway] >= need:
                self._start_fit(gateway, spec)

    def _start_fit(self, gateway: str, spec: FeatureSpec) -> None:
        rows = np.concatenate(self._buffers.pop(gateway))
        del self._counts[gateway]
        logger.info(
            "gateway %s: fitting its baseline on %d flows (in a thread)", gateway, len(rows)
        )
        future = self._executor.submit(self._fit, gateway, rows, spec)
        self._fitting[gateway] = future
        future.add_done_callback(lambda f: self._finished(gateway, f))

    def _fit(self, gateway: str, rows: NDArray[np.float32], spec: FeatureSpec) -> LoadedBaseline:
        began = time.perf_counter()
        layout_names = LAYOUT_FEATURES[spec.layout]
        position = {n: i for i, n in enumerate(spec.names)}
        ordered = rows[:, [position[n] for n in layout_names]]
        dest, manifest = learn_baseline(
            ordered,
            gateway_id=gateway,
            layout=spec.layout,
            config=baseline_config(self.settings),
            source=f"worker online learning: first {len(rows)} flows of gateway {gateway}",
            dest_root=self.out_dir / safe_name(gateway),
        )
        loaded = load_gateway_baseline(dest, spec)
        self.store.record(
            gateway,
            BundleRecord(
                path=str(dest), model=loaded.baseline.model, promoted_at_ms=int(time.time() * 1000)
            ),
        )
        logger.info(
            "gateway %s: baseline %s learnt in %.2fs (threshold %.4g for target false-alert rate "
            "%.3g; %.3g on %d held-back flows); serving it from the next batch",
            gateway,
            manifest.reference,
            time.perf_counter() - began,
            manifest.threshold.value,
            manifest.threshold.target_far,
            manifest.threshold.held_back_far,
            manifest.threshold.held_back_rows,
        )
        return loaded

    def _finished(self, gateway: str, future: Future[LoadedBaseline]) -> None:
        self._fitting.pop(gateway, None)
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            logger.error(
                "gateway %s: learning its baseline failed: %s; the classifier alone decides, "
                "learning starts again from its next flows",
                gateway,
                error,
                exc_info=error,
            )
            return
        self._on_installed(future.result())

    def wait(self, timeout_s: float) -> bool:
        """Wait until no fit is running (tests, shutdown); whether none is."""
        deadline = time.monotonic() + timeout_s
        for future in list(self._fitting.values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            future.exception(timeout=remaining)
        return not self._fitting

    def close(self) -> None:
        """Stop the fitting thread (a fit in progress is abandoned)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["BaselineLearner", "baseline_config"]

"""The demo's live hot swap: at its time, promote the second bundle through the shared
:func:`iotad.stream.model_control.promote_bundle` (a background thread) and wait for the worker's
``activated`` reply."""

from __future__ import annotations

import logging
import threading

from iotad.demo.bundles import DemoBundles
from iotad.demo.summary import SwapReport
from iotad.errors import IotadError
from iotad.settings import Settings
from iotad.stream.model_control import ControlOutcome, promote_bundle

logger = logging.getLogger(__name__)

#: How long the swap waits for the worker's answer.
REPLY_TIMEOUT_S = 90.0


def swap_report(
    outcome: ControlOutcome, at_s: float, before: str, fallback_after: str
) -> SwapReport:
    """What a promote's outcome says about the swap (pure: see the unit tests)."""
    if outcome.activated:
        reply = outcome.activated[0]
        after = f"{reply.model.name}@{reply.model.version}" if reply.model else fallback_after
        seconds = (reply.issued_at_ms - outcome.event.issued_at_ms) / 1000
        return SwapReport("activated", at_s, seconds, before, after, reply.worker_id)
    if outcome.refused:
        reply = outcome.refused[0]
        return SwapReport("refused", at_s, None, before, before, reply.worker_id, reply.reason)
    return SwapReport(
        "no reply", at_s, None, before, None, None, f"no answer within {outcome.waited_s:.0f}s"
    )


class HotSwap:
    """Promotes ``bundles.second`` once the feed reaches ``at_s`` seconds."""

    def __init__(self, settings: Settings, bundles: DemoBundles, at_s: float) -> None:
        self._settings = settings
        self._bundles = bundles
        self.at_s = at_s
        self._thread: threading.Thread | None = None
        self._report: SwapReport | None = None
        self.before = bundles.first.manifest.reference

    @property
    def done(self) -> bool:
        """True once the worker answered (or the swap failed)."""
        return self._report is not None

    def maybe_start(self, elapsed_s: float) -> None:
        """Start the swap if its time has come and it has not started."""
        if self._thread is None and elapsed_s >= self.at_s:
            self._thread = threading.Thread(target=self._promote, args=(elapsed_s,), daemon=True)
            self._thread.start()

    def _promote(self, at_s: float) -> None:
        second = self._bundles.second
        logger.info("hot swap: promoting %s at %.1fs", second.manifest.reference, at_s)
        try:
            _, outcome = promote_bundle(
                self._settings,
                second.path,
                wait_s=REPLY_TIMEOUT_S,
                expected_replies=1,
            )
        except IotadError as exc:
            logger.error("hot swap failed: %s", exc.message)
            self._report = SwapReport("failed", at_s, before=self.before, reason=exc.message)
            return
        self._report = swap_report(outcome, at_s, self.before, second.manifest.reference)
        logger.info("hot swap at %.1fs: %s", at_s, self.status())

    def status(self) -> str:
        """One line for the live view."""
        report = self._report
        if report is None:
            return "requested …" if self._thread is not None else f"due at {self.at_s:.0f}s"
        if report.activated:
            return f"activated in {report.seconds:.2f}s → {report.after}"
        return f"{report.outcome}: {report.reason}"

    def report(self) -> SwapReport:
        """The swap's report (``not reached`` when its time never came)."""
        return self._report or SwapReport("not reached" if self._thread is None else "pending")


__all__ = ["REPLY_TIMEOUT_S", "HotSwap", "swap_report"]

"""The demo's learning phase: the worker learns the demo gateway's baseline online from the
first flows of the synthetic feed (all benign: the timeline opens with a quiet stretch), then
decides with it — anomalous for the gateway and named by the classifier, or ``Unknown``."""

from __future__ import annotations

from iotad.demo.scenario import Scenario
from iotad.settings import Settings


def learning_flows(settings: Settings, scenario: Scenario) -> int:
    """How many of the feed's first flows the worker learns the baseline from: a share of the
    first benign stretch (0 when the timeline starts with attacks or learning is off)."""
    first = scenario.segments[0]
    if first.attacks:
        return 0
    demo = settings.demo
    flows = int(demo.rate * demo.duration_s * (first.end - first.start) * demo.baseline_learn_share)
    return flows if flows >= 20 else 0


#: More reference flows than the default 256: the demo gateway learns from 1,800 flows of many
#: devices, and 512 references cover them better (fewer false alerts at the same target).
DEMO_REFERENCE_ROWS = 512

#: The folder under ``offline.models_dir`` whose calibration files (per-class thresholds on
#: validation rows, ``<bundle reference>.json``) the demo's worker applies while a gateway has no
#: baseline yet, i.e. during the learning phase.
CALIBRATION_DIR = "calibration"


def with_online_baseline(settings: Settings, learn_flows: int) -> Settings:
    """``settings`` with the worker's online baseline learning on (``learn_flows`` flows)."""
    stream = settings.stream
    baseline = stream.baseline.model_copy(
        update={
            "learn_flows": learn_flows,
            "max_reference_rows": DEMO_REFERENCE_ROWS,
        }
    )
    return settings.model_copy(update={"stream": stream.model_copy(update={"baseline": baseline})})


def with_calibration(settings: Settings) -> Settings:
    """``settings`` whose worker applies the calibrations shipped beside the bundles
    (``<models_dir>/calibration``), unless ``stream.calibration`` is set already."""
    folder = settings.offline.models_dir / CALIBRATION_DIR
    if settings.stream.calibration is not None or not folder.is_dir():
        return settings
    stream = settings.stream.model_copy(update={"calibration": folder})
    return settings.model_copy(update={"stream": stream})


def with_incidents(settings: Settings) -> Settings:
    """``settings`` with the incident agent on (off by default; the demo's worker never
    restarts, so the restart risk in docs/incidents.md does not apply to it)."""
    incidents = settings.incidents.model_copy(update={"enabled": True})
    return settings.model_copy(update={"incidents": incidents})


__all__ = [
    "CALIBRATION_DIR",
    "DEMO_REFERENCE_ROWS",
    "learning_flows",
    "with_calibration",
    "with_incidents",
    "with_online_baseline",
]

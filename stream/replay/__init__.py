"""Replay CICIoT2023 CSV files into Kafka as flow messages (`iotad replay`, docs/replay.md)."""

from iotad.stream.replay.runner import ProgressCallback, plan, replay, replay_to_kafka
from iotad.stream.replay.sink import FlowSink, KafkaSink
from iotad.stream.replay.types import (
    CaptureFile,
    RejectedRow,
    Rejection,
    RejectReason,
    ReplayOptions,
    ReplaySummary,
)

__all__ = [
    "CaptureFile",
    "FlowSink",
    "KafkaSink",
    "ProgressCallback",
    "RejectReason",
    "RejectedRow",
    "Rejection",
    "ReplayOptions",
    "ReplaySummary",
    "plan",
    "replay",
    "replay_to_kafka",
]

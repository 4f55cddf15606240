"""Packets → CICIoT2023 feature windows (`iotad capture`, docs/capture.md).

:mod:`iotad.capture.core` is pure (bytes in, arrays out). Around it: capture files as packet
sources (:class:`CaptureFile`), the loop (:func:`run_capture`) and where rows go
(:class:`KafkaRows`, :class:`CsvRows`, :class:`ParquetRows`, :class:`MemoryRows`);
:mod:`iotad.capture.learning` turns capture files into a baseline's learning flows.
"""

from iotad.capture.core.types import CaptureSummary, PacketBatch, PacketSource, SkipReason
from iotad.capture.files import CaptureFile
from iotad.capture.outputs import (
    META_COLUMNS,
    CsvRows,
    KafkaRows,
    MemoryRows,
    ParquetRows,
    RowSink,
)
from iotad.capture.run import CaptureOptions, capture_files, run_capture

__all__ = [
    "META_COLUMNS",
    "CaptureFile",
    "CaptureOptions",
    "CaptureSummary",
    "CsvRows",
    "KafkaRows",
    "MemoryRows",
    "PacketBatch",
    "PacketSource",
    "ParquetRows",
    "RowSink",
    "SkipReason",
    "capture_files",
    "run_capture",
]

"""A gateway's learning flows from capture files (``iotad baseline learn --pcap``).

The packets become CICIoT2023 windows through the capture wing's own loop
(:func:`~iotad.capture.run_capture`, what ``iotad capture FILE`` runs), kept in memory
(:class:`~iotad.capture.MemoryRows`) instead of being written out: a baseline learnt from a
pcap sees exactly the rows the worker would receive from ``iotad capture`` of that pcap.

Windows come back in capture-time order (each window's last packet, stable), so "arrival
order" — the first flows fitted on, the last ones held back to set the threshold — means the
order in which the gateway saw them, whatever order the files were named in.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from iotad.capture.core.types import CaptureSummary, FeatureRows
from iotad.capture.outputs import MemoryRows
from iotad.capture.run import CaptureOptions, ProgressCallback, capture_files, run_capture
from iotad.errors import DataError
from iotad.schemas.features import LAYOUT_FEATURES
from iotad.stream.baseline_sources import LearningRows


def capture_windows(
    paths: Sequence[Path],
    options: CaptureOptions,
    *,
    chunk_bytes: int,
    on_progress: ProgressCallback | None = None,
) -> tuple[FeatureRows, list[str], CaptureSummary]:
    """Every window of the capture files under ``paths``, each window's source, the summary.

    Every file is checked (exists, is a pcap/pcapng iotad can decode) before any is read.

    Raises
    ------
    DataError
        for a missing path, a folder without captures, or a file that is not a readable
        capture (:class:`~iotad.capture.core.errors.CaptureFormatError`).
    """
    files = capture_files(paths, chunk_bytes=chunk_bytes)
    for file in files:
        file.check()
    sink = MemoryRows(LAYOUT_FEATURES[options.layout])
    summary = asyncio.run(run_capture(files, options, sink, on_progress=on_progress))
    return sink.rows(), sink.sources, summary


def pcap_learning_rows(
    paths: Sequence[Path],
    options: CaptureOptions,
    *,
    chunk_bytes: int,
    on_progress: ProgressCallback | None = None,
) -> tuple[LearningRows, CaptureSummary]:
    """The windows of the capture files under ``paths`` as learning flows, in capture order.

    Windows with a non-finite value are left out (counted as ``non_finite``); packets that
    made no window are counted by reason (``<reason> packets``).

    Raises
    ------
    DataError
        as :func:`capture_windows`, and when the captures give no usable window.
    """
    rows, _, summary = capture_windows(
        paths, options, chunk_bytes=chunk_bytes, on_progress=on_progress
    )
    skipped: Counter[str] = Counter(
        {f"{reason.value} packets": n for reason, n in summary.skipped.items() if n}
    )
    order = np.argsort(rows.last_ts, kind="stable")
    values = rows.values[order]
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        skipped["non_finite"] += int((~finite).sum())
    values = values[finite]
    names = ", ".join(str(p) for p in paths)
    if not len(values):
        raise DataError(
            f"no usable feature window in {names} ({summary.packets_read:,} packets read, "
            f"{summary.windows:,} windows; left out: {dict(skipped)})",
            hint="is this the gateway's traffic? iotad windows IPv4/IPv6 and ARP packets",
        )
    source = f"capture windows of {names} ({options.layout.value}, {options.window} packets)"
    return LearningRows(values.astype(np.float64), options.layout, source, skipped), summary


__all__ = ["capture_windows", "pcap_learning_rows"]

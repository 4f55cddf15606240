"""Run the capture core over packets in memory (for the capture tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iotad.capture.core import PacketBatch, SkipReason, WindowExtractor, decode
from iotad.schemas.features import FeatureLayout
from support.packets import Packet


def features(
    packets: list[Packet],
    window: int = 10,
    layout: FeatureLayout = FeatureLayout.CIC39,
    *,
    linktype: int = 1,
    batch_size: int | None = None,
) -> tuple[pd.DataFrame, dict[SkipReason, int]]:
    """Feature rows of ``packets`` (in batches of ``batch_size``) and the skip counts."""
    extractor = WindowExtractor(layout, window)
    size = batch_size or max(1, len(packets))
    parts, skipped = [], {}
    for at in range(0, len(packets), size):
        chunk = packets[at : at + size]
        frames = [(p.ts, p.frame, p.wire_len or len(p.frame)) for p in chunk]
        decoded, skips = decode(PacketBatch.from_frames(linktype, frames))
        for reason, count in skips.items():
            skipped[reason] = skipped.get(reason, 0) + count
        parts.append(extractor.push(decoded))
    parts.append(extractor.flush())
    values = [p.values for p in parts if p is not None and len(p)]
    table = np.vstack(values) if values else np.zeros((0, len(extractor.names)))
    return pd.DataFrame(table, columns=list(extractor.names)), skipped


__all__ = ["features"]

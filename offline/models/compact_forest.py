"""The gateway-grade Random Forest (``rf-compact``): small and fast enough to serve on a gateway.

A fully grown 100-tree forest on CICIoT2023 has about 15,000 leaves per tree; as ONNX that is
hundreds of MB (skl2onnx's encoding) or about 100 MB (the sparse leaf encoding of
:mod:`iotad.offline.models.onnx_graphs`), and it scores about 10–30 k rows/s per core. The
compact variant limits leaf size and tree count. Its parameters were chosen by measurement with
``bench/compact_forest.py`` (real per-class captures, block split per file, 8- and 34-class tasks):
the smallest candidate that keeps the bundle ≤ 25 MB, scores ≥ 100 k rows/s per core at batch
1000 in onnxruntime, and stays within 0.01 macro-F1 of the full forest. See docs/models.md.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CompactForestParams(BaseModel):
    """Size limits of the compact forest (everything else is the study's Random Forest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_estimators: int = Field(default=30, ge=1)
    max_depth: int | None = Field(default=None, ge=1)
    min_samples_leaf: int = Field(default=3, ge=1)
    max_leaf_nodes: int | None = Field(default=None, ge=2)


#: The parameters ``rf-compact`` trains with (chosen by ``bench/compact_forest.py``).
GATEWAY_FOREST = CompactForestParams(n_estimators=30, min_samples_leaf=3)


__all__ = ["GATEWAY_FOREST", "CompactForestParams"]

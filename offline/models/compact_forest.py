"""The gateway-grade Random Forest (``rf-compact``): small and fast enough to serve on a gateway.

The study's fully grown 100-tree forest has about 16,000 leaves per tree on the 112k training
rows of the real per-class captures, and more on more data: about 100 MB of ONNX even with only
non-zero leaf weights (366 MB from skl2onnx), scoring some 26,000 rows/s per core. The compact
variant caps every tree at ``max_leaf_nodes`` leaves, so its size is bounded whatever the volume
of training data (leaf-size limits alone let trees grow with the rows), and needs two rows per
leaf. Chosen by measurement with ``bench/compact_forest.py`` (per-class captures, block split per
file, 8- and 34-class tasks, seeds 42–44): the most accurate candidate with a bundle ≤ 25 MB
(also at its leaf cap), ≥ 100,000 rows/s per core at batch 1,000 in onnxruntime, and a macro-F1
at most 0.01 below the full forest's. See docs/models.md for the figures.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CompactForestParams(BaseModel):
    """Size limits of the compact forest (everything else is the study's Random Forest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_estimators: int = Field(default=30, ge=1)
    max_depth: int | None = Field(default=None, ge=1)
    min_samples_leaf: int = Field(default=2, ge=1)
    max_leaf_nodes: int | None = Field(default=8000, ge=2)


#: The parameters ``rf-compact`` trains with (chosen by ``bench/compact_forest.py``).
GATEWAY_FOREST = CompactForestParams(n_estimators=30, min_samples_leaf=2, max_leaf_nodes=8000)


__all__ = ["GATEWAY_FOREST", "CompactForestParams"]

"""Per-gateway benign baselines (novelty models): fit in numpy, export as ONNX bundles.

Shared by ``iotad baseline learn`` and the worker's online learning; needs numpy, onnx and
onnxruntime only (no scikit-learn). docs/baseline.md describes the model and why it was chosen.
"""

from iotad.baseline.export import BaselineConfig, learn_baseline, split_learning
from iotad.baseline.fit import KnnBaseline, Threshold, far_threshold, fit_knn

__all__ = [
    "BaselineConfig",
    "KnnBaseline",
    "Threshold",
    "far_threshold",
    "fit_knn",
    "learn_baseline",
    "split_learning",
]

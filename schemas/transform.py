"""Raw features → scaled → masked: the one transform training and serving both use.

Export's parity check and the stream worker call :meth:`FeatureTransform.apply` on the same saved
files (``scaler.json``, ``feature_mask.json``), so training and serving cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from iotad.errors import ModelLoadError
from iotad.schemas.manifest import FeatureMaskFile, ScalerFile


@dataclass(frozen=True)
class FeatureTransform:
    """Standardise each raw feature, then keep the model's features in the model's order.

    Parameters
    ----------
    raw_features
        every feature of the layout, in the order of ``mean`` and ``scale``.
    mean, scale
        per raw feature; the result is ``(x - mean) / scale``.
    mask
        the features the model uses, in its input order (a subset of ``raw_features``).

    Examples
    --------
    >>> t = FeatureTransform(("a", "b"), np.array([1.0, 0.0]), np.array([2.0, 1.0]), ("b", "a"))
    >>> t.apply(np.array([[3.0, 5.0]], dtype=np.float32)).tolist()
    [[5.0, 1.0]]
    """

    raw_features: tuple[str, ...]
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    mask: tuple[str, ...]
    _index: NDArray[np.intp] = field(init=False, repr=False, compare=False)
    _mean: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _inv_scale: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.raw_features) or len(self.scale) != len(self.raw_features):
            raise ModelLoadError("scaler: mean and scale must have one entry per raw feature")
        if not np.all(np.isfinite(self.mean)) or not np.all(self.scale > 0):
            raise ModelLoadError("scaler: mean must be finite and every scale > 0")
        position = {name: i for i, name in enumerate(self.raw_features)}
        unknown = [name for name in self.mask if name not in position]
        if unknown or not self.mask:
            raise ModelLoadError(f"feature mask names features the scaler lacks: {unknown}")
        index = np.array([position[name] for name in self.mask], dtype=np.intp)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_mean", np.asarray(self.mean, dtype=np.float64)[index])
        object.__setattr__(self, "_inv_scale", 1.0 / np.asarray(self.scale, np.float64)[index])

    @classmethod
    def from_files(cls, scaler: ScalerFile, mask: FeatureMaskFile) -> FeatureTransform:
        """Build from a bundle's ``scaler.json`` and ``feature_mask.json``."""
        return cls(
            raw_features=tuple(scaler.features),
            mean=np.asarray(scaler.mean, dtype=np.float64),
            scale=np.asarray(scaler.scale, dtype=np.float64),
            mask=tuple(mask.features),
        )

    @classmethod
    def fit(
        cls, raw: NDArray[np.floating], raw_features: Sequence[str], mask: Sequence[str]
    ) -> FeatureTransform:
        """Standardisation fitted on ``raw`` rows (zero-variance features get scale 1)."""
        values = np.asarray(raw, dtype=np.float64)
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        scale[~(scale > 0)] = 1.0
        return cls(tuple(raw_features), mean, scale, tuple(mask))

    def to_files(self) -> tuple[ScalerFile, FeatureMaskFile]:
        """The bundle files that reproduce this transform."""
        scaler = ScalerFile(
            features=list(self.raw_features),
            mean=[float(v) for v in self.mean],
            scale=[float(v) for v in self.scale],
        )
        return scaler, FeatureMaskFile(features=list(self.mask))

    def apply(self, raw: NDArray[np.floating]) -> NDArray[np.float32]:
        """Rows of raw features (``raw_features`` order) → the model input (float32)."""
        if raw.ndim != 2 or raw.shape[1] != len(self.raw_features):
            raise ValueError(
                f"expected rows of {len(self.raw_features)} raw features, got shape {raw.shape}"
            )
        selected = raw[:, self._index].astype(np.float64, copy=False)
        return ((selected - self._mean) * self._inv_scale).astype(np.float32)


__all__ = ["FeatureTransform"]

"""Scoring with an ONNX bundle: :class:`OnnxScorer` implements the core's :class:`Scorer`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iotad.errors import ModelLoadError
from iotad.schemas.bundle import BundleSession
from iotad.schemas.messages import ModelRef
from iotad.stream.core.types import FeatureSpec


class OnnxScorer:
    """A verified bundle's onnxruntime session: raw rows → scaler → mask → model → class scores.

    Parameters
    ----------
    session
        from :func:`iotad.schemas.bundle.open_session` (sha256 and canary already checked).
    spec
        the feature order the worker vectorises in; it must be the bundle's ``raw_features``.

    Raises
    ------
    ModelLoadError
        if ``spec`` differs from the bundle's raw features or its scaler's order.
    """

    def __init__(self, session: BundleSession, spec: FeatureSpec) -> None:
        bundle = session.bundle
        manifest = bundle.manifest
        if (
            tuple(manifest.input.raw_features) != spec.names
            or bundle.transform.raw_features != spec.names
        ):
            raise ModelLoadError(
                f"bundle {manifest.reference}: its raw feature order differs from the order the "
                "worker vectorises in"
            )
        self._session = session
        self._model = ModelRef(
            name=manifest.name, version=manifest.version, sha256=bundle.model_sha256
        )
        self._classes = tuple(manifest.classes)

    @property
    def model(self) -> ModelRef:
        """Which bundle scores."""
        return self._model

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in score-column order."""
        return self._classes

    def scores(self, raw: NDArray[np.float32]) -> NDArray[np.float32]:
        """Class scores for rows of raw features in bundle order."""
        if len(raw) == 0:
            return np.empty((0, len(self._classes)), dtype=np.float32)
        return self._session.scores(raw)


__all__ = ["OnnxScorer"]

"""The model the core scores with: a scorer plus what the worker needs to read its scores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from iotad.errors import ModelLoadError
from iotad.schemas.bundle import BundleSession
from iotad.schemas.labels import Category, Task
from iotad.schemas.manifest import BundleManifest
from iotad.schemas.messages import ModelRef
from iotad.stream.core.decide import DecisionPolicy
from iotad.stream.core.score import OnnxScorer
from iotad.stream.core.types import FeatureSpec, Scorer


@dataclass(frozen=True)
class ServingModel:
    """A scorer with its feature spec and decision policy (swapped as one value)."""

    scorer: Scorer
    spec: FeatureSpec
    policy: DecisionPolicy
    reference: str

    @property
    def model(self) -> ModelRef:
        """Name, version and sha256 that alerts carry."""
        return self.scorer.model


def feature_spec(manifest: BundleManifest) -> FeatureSpec:
    """The features a bundle needs, in its scaler's order."""
    return FeatureSpec(manifest.input.layout, tuple(manifest.input.raw_features))


def decision_policy(
    manifest: BundleManifest,
    *,
    threshold: float,
    top_k: int,
    class_thresholds: Mapping[str, float] | None = None,
) -> DecisionPolicy:
    """The decision policy of a bundle under the worker's threshold and top-k.

    Raises
    ------
    ModelLoadError
        if a class maps to something that is not an alert category.
    """
    try:
        categories = tuple(Category(manifest.class_categories[c]) for c in manifest.classes)
    except ValueError as exc:
        raise ModelLoadError(f"bundle {manifest.reference}: class_categories: {exc}") from exc
    fine_grained = Task(manifest.task) is Task.LABEL
    return DecisionPolicy(
        classes=tuple(manifest.classes),
        categories=categories,
        labels=tuple(c if fine_grained else None for c in manifest.classes),
        benign_classes=frozenset(manifest.decision.benign_classes),
        threshold=threshold,
        top_k=top_k,
        class_thresholds=dict(class_thresholds or {}),
    )


def serving_model(
    session: BundleSession,
    *,
    threshold: float,
    top_k: int,
    class_thresholds: Mapping[str, float] | None = None,
) -> ServingModel:
    """Wrap a verified bundle session for the scoring core.

    Raises
    ------
    ModelLoadError
        if the bundle's classes or features cannot be served.
    """
    manifest = session.bundle.manifest
    spec = feature_spec(manifest)
    return ServingModel(
        scorer=OnnxScorer(session, spec),
        spec=spec,
        policy=decision_policy(
            manifest, threshold=threshold, top_k=top_k, class_thresholds=class_thresholds
        ),
        reference=manifest.reference,
    )


__all__ = ["ServingModel", "decision_policy", "feature_spec", "serving_model"]

"""The worker's gateway baselines: load and verify them, keep the map gateway → baseline, and say
clearly which gateways have none.

The map is an immutable value swapped whole (like the model slot), so a batch in flight keeps the
map it started with. A gateway first seen without a baseline is logged once, and counted on
``/metrics`` (``iotad_baseline_missing_flows_total{gateway}``, ``iotad_gateways_without_baseline``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from iotad.errors import ConfigError, IotadError, ModelLoadError
from iotad.schemas.baseline_bundle import load_baseline, open_baseline_session
from iotad.schemas.baseline_manifest import BaselineManifest
from iotad.schemas.keys import load_trusted_keys
from iotad.schemas.messages import ModelRef
from iotad.schemas.signing import TrustPolicy
from iotad.settings import StreamSettings
from iotad.stream.baseline_state import BaselineStore
from iotad.stream.core.baseline import GatewayBaseline
from iotad.stream.core.types import FeatureSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedBaseline:
    """A verified baseline bundle, ready to score its gateway's flows."""

    path: Path
    manifest: BaselineManifest
    baseline: GatewayBaseline


def baseline_ref(manifest: BaselineManifest) -> ModelRef:
    """Name, version and model sha256 of a baseline bundle."""
    return ModelRef(
        name=manifest.name, version=manifest.version, sha256=manifest.sha256[manifest.files.model]
    )


def load_gateway_baseline(
    path: Path, serving_spec: FeatureSpec | None = None, trust: TrustPolicy | None = None
) -> LoadedBaseline:
    """Load and verify a baseline bundle (signature with ``trust``, checksums, graph, canary;
    layout vs the classifier).

    Raises
    ------
    ModelLoadError
        for any failed check, or a layout the served classifier does not take.
    """
    bundle = load_baseline(Path(path), trust)
    session = open_baseline_session(bundle)
    manifest = bundle.manifest
    if serving_spec is not None and set(manifest.input.raw_features) - serving_spec.name_set:
        raise ModelLoadError(
            f"baseline {manifest.reference} takes layout {manifest.input.layout.value} features, "
            f"the worker serves {serving_spec.layout.value} flows"
        )
    baseline = GatewayBaseline(
        gateway_id=manifest.gateway_id,
        scorer=session,
        threshold=session.threshold,
        model=baseline_ref(manifest),
        reference=manifest.reference,
        raw_features=tuple(manifest.input.raw_features),
    )
    return LoadedBaseline(Path(path), manifest, baseline)


class BaselineRegistry:
    """Gateway → baseline for the scoring core, and which gateways were seen without one."""

    def __init__(self) -> None:
        self._current: Mapping[str, GatewayBaseline] = MappingProxyType({})
        self._paths: dict[str, Path] = {}
        self._reported_missing: set[str] = set()

    @property
    def current(self) -> Mapping[str, GatewayBaseline]:
        """The map the next batch is scored with."""
        return self._current

    def install(self, loaded: LoadedBaseline) -> GatewayBaseline | None:
        """Serve ``loaded`` for its gateway from the next batch on; returns the one replaced."""
        gateway = loaded.manifest.gateway_id
        previous = self._current.get(gateway)
        self._current = MappingProxyType({**self._current, gateway: loaded.baseline})
        self._paths[gateway] = loaded.path
        self._reported_missing.discard(gateway)
        return previous

    def path_of(self, gateway: str) -> Path | None:
        """The bundle directory serving ``gateway``, if any."""
        return self._paths.get(gateway)

    def newly_missing(self, gateways: Mapping[str, int]) -> list[str]:
        """The gateways in ``gateways`` (seen without a baseline) not reported before."""
        # a batch scored before a baseline was installed still reports its gateway missing
        fresh = [g for g in gateways if g not in self._reported_missing and g not in self._current]
        self._reported_missing.update(fresh)
        return fresh

    @property
    def missing(self) -> frozenset[str]:
        """Gateways seen without a baseline that still have none."""
        return frozenset(self._reported_missing - set(self._current))


def baseline_trust(stream: StreamSettings, path: Path) -> TrustPolicy | None:
    """The signature policy for the baseline at ``path``: none for one the worker learnt itself
    (under ``stream.baseline_dir``, written by the worker; it holds no signing key), else the
    classifiers' (``stream.trusted_keys``, ``allow_unsigned_bundles``).

    Raises
    ------
    ModelLoadError
        if a configured key cannot be read.
    """
    if Path(path).resolve().is_relative_to(Path(stream.baseline_dir).resolve()):
        return None
    try:
        return TrustPolicy(load_trusted_keys(stream.trusted_keys), stream.allow_unsigned_bundles)
    except ConfigError as exc:
        raise ModelLoadError(
            f"cannot check the signature of {path}: {exc.message}", hint=exc.hint
        ) from exc


def startup_baselines(stream: StreamSettings, serving_spec: FeatureSpec) -> BaselineRegistry:
    """A registry with every baseline recorded in the state dir that verifies.

    A recorded baseline that fails verification is logged and left out (its gateway falls back
    to the classifier alone, as if it had none).
    """
    registry = BaselineRegistry()
    store = BaselineStore(stream.state_dir)
    try:
        state = store.read()
    except IotadError as exc:
        logger.error("cannot read the gateway baselines (%s); serving without them", exc.message)
        return registry
    for gateway, record in sorted(state.gateways.items()):
        try:
            path = Path(record.active.path)
            loaded = load_gateway_baseline(path, serving_spec, baseline_trust(stream, path))
        except ModelLoadError as exc:
            logger.error(
                "gateway %s: cannot serve its baseline %s: %s; the classifier alone decides",
                gateway,
                record.active.path,
                exc.message,
            )
            continue
        registry.install(loaded)
        logger.info("gateway %s: baseline %s", gateway, loaded.manifest.reference)
    return registry


__all__ = [
    "BaselineRegistry",
    "LoadedBaseline",
    "baseline_ref",
    "baseline_trust",
    "load_gateway_baseline",
    "startup_baselines",
]

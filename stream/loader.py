"""Load a bundle for serving, with every check the worker makes before a model may score.

0. The manifest is signed by a key in ``stream.trusted_keys`` (:mod:`iotad.schemas.signing`);
   an unsigned bundle serves only with ``stream.allow_unsigned_bundles``, loudly.
1. ``load_bundle``: every file matches the manifest's sha256; scaler and mask fit the layout.
2. ``open_session``: the ONNX graph loads and its canary rows reproduce their recorded outputs
   through scaler, mask and model.
3. The classes map to alert categories, and — when replacing a serving model — the raw features
   are the same set the worker already accepts (otherwise every flow would be dead-lettered).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from iotad.errors import ConfigError, ModelLoadError
from iotad.schemas.bundle import load_bundle, open_session, parse_file
from iotad.schemas.calibration import CalibrationFile
from iotad.schemas.keys import load_trusted_keys
from iotad.schemas.manifest import BundleManifest
from iotad.schemas.signing import SignatureCheck, SignatureState, TrustPolicy
from iotad.settings import StreamSettings
from iotad.stream.core.model import ServingModel, serving_model
from iotad.stream.core.types import FeatureSpec
from iotad.stream.state import ActiveBundleStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A verified bundle, ready to score."""

    path: Path
    manifest: BundleManifest
    serving: ServingModel
    signature: SignatureCheck = SignatureCheck(SignatureState.UNSIGNED)

    @property
    def signed_by(self) -> str | None:
        """The id of the trusted key that signed the bundle; ``None`` when it serves unsigned."""
        return self.signature.key_id if self.signature.state is SignatureState.SIGNED else None


def trust_policy(stream: StreamSettings) -> TrustPolicy:
    """The signature policy of ``stream``: its trusted keys, read now, and the unsigned switch.

    Raises
    ------
    ConfigError
        if a configured key file is missing or not an Ed25519 public key.
    """
    return TrustPolicy(load_trusted_keys(stream.trusted_keys), stream.allow_unsigned_bundles)


def check_compatible(candidate: FeatureSpec, serving: FeatureSpec, reference: str) -> None:
    """Refuse a bundle whose raw features differ from those of the model being served.

    Raises
    ------
    ModelLoadError
        naming the layout and the differing features.
    """
    if candidate.name_set == serving.name_set:
        return
    missing = sorted(serving.name_set - candidate.name_set)
    extra = sorted(candidate.name_set - serving.name_set)
    raise ModelLoadError(
        f"bundle {reference} takes layout {candidate.layout.value} features, the worker serves "
        f"{serving.layout.value} flows (features it lacks: {missing[:6]}, extra: {extra[:6]}); "
        "every flow would be dead-lettered",
        hint="restart the workers with --bundle to change the feature layout",
    )


def calibrated_thresholds(
    path: Path | None, manifest: BundleManifest, model_sha256: str
) -> dict[str, float]:
    """The per-class thresholds of ``path`` if it was calibrated for this bundle, else none.

    ``path`` is a calibration file, or a folder of them named ``<bundle reference>.json``
    (``models/calibration``): then every bundle served, also after a hot swap, gets its own
    calibration if the folder has one.

    Raises
    ------
    ModelLoadError
        if the calibration file is unreadable.
    """
    if path is None:
        return {}
    path = Path(path)
    if path.is_dir():
        path = path / f"{manifest.reference}.json"
        if not path.is_file():
            logger.info(
                "bundle %s: no calibration in %s, serving with the global threshold",
                manifest.reference,
                path.parent,
            )
            return {}
    calibration = parse_file(CalibrationFile, path)
    if calibration.bundle != manifest.reference or calibration.model_sha256 != model_sha256:
        logger.warning(
            "calibration %s is for %s, not %s: serving with the global threshold",
            path,
            calibration.bundle,
            manifest.reference,
        )
        return {}
    unknown = sorted(set(calibration.classes) - set(manifest.classes))
    if unknown:
        raise ModelLoadError(f"calibration {path} names classes the bundle lacks: {unknown}")
    logger.info("bundle %s: per-class thresholds from %s", manifest.reference, path)
    return {name: c.threshold for name, c in calibration.classes.items()}


def load_model(
    path: Path,
    stream: StreamSettings,
    *,
    serving_spec: FeatureSpec | None = None,
    trust: TrustPolicy | None = None,
) -> LoadedModel:
    """Load and verify the bundle at ``path`` for serving.

    Parameters
    ----------
    path
        the bundle directory.
    stream
        the worker's settings (confidence threshold, top-k, trusted keys).
    serving_spec
        the features of the model being replaced, if any; the new bundle must take the same set.
    trust
        the signature policy (default: :func:`trust_policy` of ``stream``, keys read now).

    Raises
    ------
    ModelLoadError
        with the reason, for any failed check (a key file that cannot be read included).
    """
    if trust is None:
        try:
            trust = trust_policy(stream)
        except ConfigError as exc:
            raise ModelLoadError(
                f"cannot check the signature of {path}: {exc.message}", hint=exc.hint
            ) from exc
    bundle = load_bundle(Path(path), trust)
    signature = bundle.signature or SignatureCheck(SignatureState.UNSIGNED)
    if signature.state is not SignatureState.SIGNED:
        logger.warning(
            "UNSIGNED BUNDLE ACCEPTED: %s is %s; it serves only because "
            "stream.allow_unsigned_bundles is true, and anyone who can write its folder can "
            "change the model",
            path,
            signature.describe(),
        )
    session = open_session(bundle)
    serving = serving_model(
        session,
        threshold=stream.confidence_threshold,
        top_k=stream.top_k,
        class_thresholds=calibrated_thresholds(
            stream.calibration, bundle.manifest, bundle.model_sha256
        ),
    )
    if serving_spec is not None:
        check_compatible(serving.spec, serving_spec, bundle.manifest.reference)
    return LoadedModel(Path(path), bundle.manifest, serving, signature)


def startup_model(stream: StreamSettings, configured: Path | None = None) -> LoadedModel:
    """The model a worker starts with: the last promoted bundle, else the configured one.

    Candidates, in order: the bundle recorded as promoted in the state dir, the bundles promoted
    before it (most recent first), then ``configured`` (``--bundle``, defaulting to
    ``stream.bundle``). A candidate that fails verification is logged and the next one is tried.

    Raises
    ------
    ModelLoadError
        if no candidate exists or none verifies, with each candidate's reason.
    ConfigError
        if a trusted key file cannot be read.
    """
    candidates: list[tuple[str, Path]] = []
    store = ActiveBundleStore(stream.state_dir)
    state = store.read()
    if state.active is not None:
        candidates.append((f"last promoted ({store.path})", Path(state.active.path)))
    candidates.extend(
        (f"earlier promoted ({store.path})", Path(record.path))
        for record in reversed(state.history)
    )
    chosen = configured if configured is not None else stream.bundle
    if chosen is not None:
        candidates.append(("configured (--bundle / stream.bundle)", chosen))
    if not candidates:
        raise ModelLoadError(
            "no model bundle to serve: none was promoted and none is configured",
            hint="pass --bundle models/<task>/<model>/<version>, set IOTAD_STREAM__BUNDLE, "
            "or run `iotad models promote PATH`",
        )
    trust = trust_policy(stream)  # a key file that cannot be read stops the start-up here
    failures: list[str] = []
    for origin, path in candidates:
        try:
            loaded = load_model(path, stream, trust=trust)
        except ModelLoadError as exc:
            logger.error("cannot serve the %s bundle %s: %s", origin, path, exc.message)
            failures.append(f"{origin} bundle {path}: {exc.message}")
            continue
        logger.info("serving the %s bundle %s (%s)", origin, path, loaded.manifest.reference)
        return loaded
    raise ModelLoadError(
        "no valid model bundle to serve: " + "; ".join(failures),
        hint="check the bundle with `iotad models verify PATH`, then pass a good one with "
        "--bundle or promote it",
    )


__all__ = [
    "LoadedModel",
    "calibrated_thresholds",
    "check_compatible",
    "load_model",
    "startup_model",
    "trust_policy",
]

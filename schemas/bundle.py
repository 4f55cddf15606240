"""Read, verify and write model bundles (layout: :mod:`iotad.schemas.manifest`).

* :func:`load_bundle` reads a bundle and checks every file against the manifest's sha256 (and,
  given a :class:`~iotad.schemas.signing.TrustPolicy`, the manifest's signature first).
* :func:`open_session` builds an onnxruntime session and checks the bundle's canary rows
  reproduce their recorded outputs through scaler, mask and model; only then may it serve.
* :func:`write_bundle` writes a bundle atomically (a temporary directory renamed when complete).

Every problem raises :class:`~iotad.errors.ModelLoadError` with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ValidationError

from iotad.errors import ModelLoadError
from iotad.schemas.keys import SigningKey
from iotad.schemas.manifest import (
    MANIFEST_FILE,
    BundleFiles,
    BundleManifest,
    CanaryFile,
    FeatureMaskFile,
    ScalerFile,
)
from iotad.schemas.outputs import class_scores
from iotad.schemas.signing import SignatureCheck, TrustPolicy, sign_manifest, write_signature
from iotad.schemas.transform import FeatureTransform


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Bundle:
    """A bundle read from disk whose files match their checksums."""

    path: Path
    manifest: BundleManifest
    transform: FeatureTransform
    canary: CanaryFile
    model_bytes: bytes
    #: The signature check, when the bundle was loaded with a trust policy.
    signature: SignatureCheck | None = None

    @property
    def model_sha256(self) -> str:
        """sha256 of ``model.onnx``: the identity alerts carry."""
        return self.manifest.sha256[self.manifest.files.model]


M = TypeVar("M", bound=BaseModel)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelLoadError(f"bundle file missing: {path}") from None
    except OSError as exc:
        raise ModelLoadError(f"cannot read bundle file {path}: {exc}") from exc


def _parse(model: type[M], path: Path, data: bytes) -> M:
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise ModelLoadError(
            f"{path.name} is invalid at {where}: {first['msg']} ({exc.error_count()} problem(s))"
        ) from exc


def parse_file(model: type[M], path: Path) -> M:
    """Read and validate one bundle JSON file; a clear :class:`ModelLoadError` if it is not."""
    return _parse(model, path, _read(path))


def verify_files(path: Path, reference: str, sha256: Mapping[str, str]) -> None:
    """Raise :class:`ModelLoadError` unless every file in ``sha256`` is a file of the bundle
    folder with that sha256."""
    for name, expected in sha256.items():
        file = path / name
        if Path(name).name != name or name in ("", ".", ".."):
            raise ModelLoadError(
                f"bundle {reference}: the manifest names {name!r}, not a file of the bundle folder"
            )
        if not file.is_file():
            raise ModelLoadError(f"bundle {reference}: file {name} is missing")
        actual = sha256_file(file)
        if actual != expected:
            raise ModelLoadError(
                f"bundle {reference}: {name} has sha256 {actual[:12]}…, the manifest "
                f"says {expected[:12]}… (file changed or corrupted)"
            )


def read_parts(
    path: Path, reference: str, files: BundleFiles, raw_features: list[str]
) -> tuple[FeatureTransform, CanaryFile]:
    """A bundle's feature transform (scaler + mask) and canary rows, checked against its layout."""
    scaler = parse_file(ScalerFile, path / files.scaler)
    mask = parse_file(FeatureMaskFile, path / files.feature_mask)
    if scaler.features != raw_features:
        raise ModelLoadError(
            f"bundle {reference}: scaler features differ from the manifest's raw features"
        )
    return FeatureTransform.from_files(scaler, mask), parse_file(CanaryFile, path / files.canary)


def load_bundle(path: Path, trust: TrustPolicy | None = None) -> Bundle:
    """Read the bundle at ``path`` and verify every file's sha256 and internal consistency.

    Every file is read once and checked and parsed from the same bytes, so a file swapped while
    the bundle loads cannot slip past its checksum. With ``trust``, the manifest's signature is
    checked first, before anything else of the bundle is read.

    Raises
    ------
    ModelLoadError
        for a refused signature, a missing or malformed file, a checksum mismatch, or a
        scaler/mask that does not fit the manifest's input layout.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelLoadError(f"not a bundle directory: {path}")
    raw_manifest = _read(path / MANIFEST_FILE)
    signature = trust.check(path, raw_manifest) if trust is not None else None
    manifest = _parse(BundleManifest, path / MANIFEST_FILE, raw_manifest)
    contents: dict[str, bytes] = {}
    for name, expected in manifest.sha256.items():
        file = path / name
        if Path(name).name != name or name in ("", ".", ".."):
            raise ModelLoadError(
                f"bundle {manifest.reference}: the manifest names {name!r}, not a file of the "
                "bundle folder"
            )
        if not file.is_file():
            raise ModelLoadError(f"bundle {manifest.reference}: file {name} is missing")
        contents[name] = _read(file)
        actual = hashlib.sha256(contents[name]).hexdigest()
        if actual != expected:
            raise ModelLoadError(
                f"bundle {manifest.reference}: {name} has sha256 {actual[:12]}…, the manifest "
                f"says {expected[:12]}… (file changed or corrupted)"
            )
    files = manifest.files
    scaler = _parse(ScalerFile, path / files.scaler, contents[files.scaler])
    mask = _parse(FeatureMaskFile, path / files.feature_mask, contents[files.feature_mask])
    if scaler.features != manifest.input.raw_features:
        raise ModelLoadError(
            f"bundle {manifest.reference}: scaler features differ from the manifest's raw features"
        )
    transform = FeatureTransform.from_files(scaler, mask)
    canary = _parse(CanaryFile, path / files.canary, contents[files.canary])
    return Bundle(path, manifest, transform, canary, contents[files.model], signature)


class BundleSession:
    """A verified bundle with its onnxruntime session: raw feature rows in, class scores out."""

    def __init__(self, bundle: Bundle, session: Any) -> None:
        self.bundle = bundle
        self._session = session
        self._input = bundle.manifest.input.onnx_input
        self._output = bundle.manifest.output.scores
        self._kind = bundle.manifest.output.kind
        self._n_classes = len(bundle.manifest.classes)

    def scores_for_model_input(self, model_input: NDArray[np.float32]) -> NDArray[np.float32]:
        """Class scores for rows already transformed (scaled and masked)."""
        (output,) = self._session.run([self._output], {self._input: model_input})
        return class_scores(output, self._kind, self._n_classes)

    def scores(self, raw: NDArray[np.floating]) -> NDArray[np.float32]:
        """Class scores for rows of raw features in the bundle's ``raw_features`` order."""
        return self.scores_for_model_input(self.bundle.transform.apply(raw))


def inference_session(model_bytes: bytes, reference: str, intra_op_threads: int = 1) -> Any:
    """An onnxruntime CPU session for a graph, or :class:`ModelLoadError` naming the bundle."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises several unrelated types for a bad graph
        raise ModelLoadError(f"bundle {reference}: ONNX model does not load: {exc}") from exc


def open_session(bundle: Bundle, *, intra_op_threads: int = 1) -> BundleSession:
    """An onnxruntime session for ``bundle``, refused unless its canary rows reproduce.

    Raises
    ------
    ModelLoadError
        if ONNX cannot load the model, its input/output names differ from the manifest, or a
        canary row's class or scores differ from the recorded ones.
    """
    manifest = bundle.manifest
    session = checked_session(
        bundle.model_bytes,
        manifest.reference,
        onnx_input=manifest.input.onnx_input,
        scores_output=manifest.output.scores,
        mask_width=len(bundle.transform.mask),
        intra_op_threads=intra_op_threads,
    )
    scoring = BundleSession(bundle, session)
    check_canary(scoring)
    return scoring


def checked_session(
    model_bytes: bytes,
    reference: str,
    *,
    onnx_input: str,
    scores_output: str,
    mask_width: int,
    intra_op_threads: int = 1,
) -> Any:
    """An onnxruntime session whose graph has the manifest's input, output and width.

    Shared by classifier and baseline bundles.

    Raises
    ------
    ModelLoadError
        if ONNX cannot load the model or its names or width differ from the manifest.
    """
    session = inference_session(model_bytes, reference, intra_op_threads)
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if inputs != [onnx_input] or scores_output not in outputs:
        raise ModelLoadError(
            f"bundle {reference}: graph has inputs {inputs} and outputs {outputs}, "
            f"manifest expects input {onnx_input!r}, output {scores_output!r}"
        )
    width = session.get_inputs()[0].shape[-1]
    if isinstance(width, int) and width != mask_width:
        raise ModelLoadError(
            f"bundle {reference}: graph takes {width} features, mask has {mask_width}"
        )
    return session


def check_canary(scoring: BundleSession) -> None:
    """Raise :class:`ModelLoadError` unless the canary rows give their recorded outputs."""
    bundle = scoring.bundle
    canary = bundle.canary
    raw = np.asarray(canary.rows, dtype=np.float32)
    scores = scoring.scores(raw)
    classes = np.asarray(bundle.manifest.classes)[scores.argmax(axis=1)]
    expected = np.asarray(canary.expected_scores, dtype=np.float32)
    wrong = [
        i
        for i, (got, want) in enumerate(zip(classes, canary.expected_classes, strict=True))
        if got != want
    ]
    drift = float(np.abs(scores - expected).max()) if expected.shape == scores.shape else np.inf
    if wrong or drift > canary.atol:
        raise ModelLoadError(
            f"bundle {bundle.manifest.reference}: canary check failed "
            f"({len(wrong)} of {len(raw)} rows changed class, max score drift {drift:.3g} "
            f"> atol {canary.atol:g})"
        )


def _dump(model: BaseModel) -> bytes:
    return model.model_dump_json(indent=2).encode()


def write_bundle(
    dest: Path,
    *,
    manifest_fields: Mapping[str, Any],
    onnx_model: bytes,
    scaler: ScalerFile,
    feature_mask: FeatureMaskFile,
    canary: CanaryFile,
    metrics: Mapping[str, Any],
    signer: SigningKey | None = None,
    manifest_type: type[M] = BundleManifest,  # type: ignore[assignment]
) -> M:
    """Write a complete bundle to ``dest`` atomically and return its manifest.

    ``manifest_fields`` are every field of ``manifest_type`` (:class:`BundleManifest`, or
    :class:`~iotad.schemas.baseline_manifest.BaselineManifest` for a gateway baseline) except
    ``files`` and ``sha256``, which are filled in here. ``dest`` must not exist yet. With
    ``signer``, ``manifest.sig`` is written too, before the bundle appears at ``dest``.
    """
    dest = Path(dest)
    if dest.exists():
        raise ModelLoadError(f"refusing to overwrite existing bundle {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    files = BundleFiles()
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        contents = {
            files.model: onnx_model,
            files.scaler: _dump(scaler),
            files.feature_mask: _dump(feature_mask),
            files.canary: _dump(canary),
            files.metrics: json.dumps(metrics, indent=2, sort_keys=True, default=float).encode(),
        }
        for name, data in contents.items():
            (staging / name).write_bytes(data)
        sha = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
        try:
            manifest = manifest_type(**{**manifest_fields, "files": files, "sha256": sha})
        except ValidationError as exc:
            raise ModelLoadError(f"invalid bundle manifest: {exc}") from exc
        raw_manifest = _dump(manifest)
        (staging / MANIFEST_FILE).write_bytes(raw_manifest)
        if signer is not None:
            write_signature(staging, sign_manifest(raw_manifest, signer))
        staging.replace(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


__all__ = [
    "Bundle",
    "BundleSession",
    "check_canary",
    "checked_session",
    "inference_session",
    "load_bundle",
    "open_session",
    "parse_file",
    "read_parts",
    "sha256_file",
    "verify_files",
    "write_bundle",
]

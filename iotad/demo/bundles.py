"""Which two bundles the demo serves: the one the worker starts with and the one hot-swapped in.

Without ``--bundle``/``--swap-bundle`` they come from ``models/defaults.json`` (written by
``scripts/build_default_bundles.py``), whose paths are relative to the file's folder::

    {"default": "task8/rf-compact/<version>", "swap": "task8/rf-compact/<version>", ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from iotad.errors import ModelLoadError
from iotad.schemas.features import FeatureLayout
from iotad.settings import Settings
from iotad.stream.loader import LoadedModel, load_model

DEFAULTS_FILE = "defaults.json"
_BUILD_HINT = (
    "build the default bundles with `python scripts/build_default_bundles.py` (needs the real "
    "rows in ../shared/data/ciciot2023), or pass --bundle and --swap-bundle"
)


@dataclass(frozen=True)
class DemoBundles:
    """Both bundles, verified as a worker would verify them."""

    first: LoadedModel
    second: LoadedModel

    @property
    def layout(self) -> FeatureLayout:
        """The feature layout both take."""
        return self.first.manifest.input.layout


def default_paths(models_dir: Path) -> tuple[Path, Path]:
    """The default and swap bundle paths named by ``<models_dir>/defaults.json``.

    Raises
    ------
    ModelLoadError
        when the file is missing or unreadable, saying how to build the bundles.
    """
    index = models_dir / DEFAULTS_FILE
    try:
        entries = orjson.loads(index.read_bytes())
        return models_dir / str(entries["default"]), models_dir / str(entries["swap"])
    except FileNotFoundError:
        raise ModelLoadError(
            f"no default model bundles: {index} is missing", hint=_BUILD_HINT
        ) from None
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelLoadError(
            f"{index} is not a valid bundle index: {exc}", hint=_BUILD_HINT
        ) from exc


def bundle_paths(settings: Settings) -> tuple[Path, Path]:
    """The demo's two bundle folders (``demo.bundle``/``demo.swap_bundle`` or the defaults).

    Raises
    ------
    ModelLoadError
        when a bundle has no manifest, saying how to build the defaults.
    """
    first_path, second_path = settings.demo.bundle, settings.demo.swap_bundle
    if first_path is None or second_path is None:
        default_first, default_second = default_paths(settings.offline.models_dir)
        first_path = first_path or default_first
        second_path = second_path or default_second
    for path in (first_path, second_path):
        if not (path / "manifest.json").is_file():
            raise ModelLoadError(
                f"model bundle missing: {path} has no manifest.json", hint=_BUILD_HINT
            )
    return first_path, second_path


def resolve_bundles(settings: Settings) -> DemoBundles:
    """Load and verify the demo's two bundles (``demo.bundle``/``demo.swap_bundle`` or defaults),
    as the worker will: signatures (``stream.trusted_keys``) included.

    Raises
    ------
    ModelLoadError
        when a bundle is missing, fails verification, or the two take different features.
    """
    first_path, second_path = bundle_paths(settings)
    first = load_model(first_path, settings.stream)
    second = load_model(second_path, settings.stream, serving_spec=first.serving.spec)
    if first.manifest.sha256 == second.manifest.sha256:
        raise ModelLoadError(
            f"the swap bundle {second_path} is the bundle the worker starts with",
            hint="pass a different bundle with --swap-bundle",
        )
    return DemoBundles(first, second)


__all__ = ["DEFAULTS_FILE", "DemoBundles", "bundle_paths", "default_paths", "resolve_bundles"]

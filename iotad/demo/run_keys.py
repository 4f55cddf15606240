"""The demo's throwaway signing key: the worker serves only signed bundles, so the demo signs
its own copies of the two bundles it serves.

:func:`sign_for_run` makes a key pair under ``<run dir>/keys/`` (a new one every run, never
used again), links (or copies) both bundles into ``<run dir>/bundles/``, signs the copies and
returns settings whose worker trusts that key alone. The bundles under ``models/`` are not
touched. A gateway signs bundles with its own key instead (docs/models.md, "Signed bundles").
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from iotad.demo.bundles import bundle_paths
from iotad.schemas.keys import generate_keypair, load_signing_key
from iotad.schemas.signing import sign_bundle
from iotad.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunKey:
    """The run's key and the settings that use it."""

    key_id: str
    public_key: Path
    settings: Settings


def _link_or_copy(source: str, dest: str) -> None:
    """Hard-link a bundle file (no space used); copy it across file systems."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def sign_for_run(settings: Settings, run_dir: Path) -> RunKey:
    """Sign copies of the demo's two bundles with a new key under ``run_dir``.

    The signature file is written as a new file renamed into place, so a hard-linked bundle's
    original files are never changed.

    Raises
    ------
    ModelLoadError
        when a bundle is missing (see :func:`iotad.demo.bundles.bundle_paths`).
    """
    first, second = bundle_paths(settings)
    private, public, key_id = generate_keypair(run_dir / "keys", "demo")
    signer = load_signing_key(private)
    copies = []
    for role, source in (("first", first), ("swap", second)):
        dest = run_dir / "bundles" / role
        shutil.copytree(source, dest, copy_function=_link_or_copy)
        sign_bundle(dest, signer)
        copies.append(dest)
    logger.info("demo bundles signed with the run's key %s: %s", key_id, copies)
    signed = settings.model_copy(
        update={
            "demo": settings.demo.model_copy(
                update={"bundle": copies[0], "swap_bundle": copies[1]}
            ),
            "stream": settings.stream.model_copy(
                update={"trusted_keys": (public,), "allow_unsigned_bundles": False}
            ),
        }
    )
    return RunKey(key_id, public, signed)


__all__ = ["RunKey", "sign_for_run"]

"""Find and describe model bundles on disk (``iotad models list|show``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from iotad.schemas.baseline_manifest import BaselineManifest
from iotad.schemas.manifest import MANIFEST_FILE, BundleManifest


@dataclass(frozen=True)
class CatalogEntry:
    """A directory holding a ``manifest.json``: its manifest, or why it cannot be read."""

    path: Path
    manifest: BundleManifest | None
    problem: str | None = None


def read_entry(path: Path) -> CatalogEntry:
    """The catalog entry of one bundle directory."""
    try:
        manifest = BundleManifest.model_validate_json((path / MANIFEST_FILE).read_bytes())
    except FileNotFoundError:
        return CatalogEntry(path, None, f"no {MANIFEST_FILE}")
    except ValidationError as exc:
        try:
            baseline = BaselineManifest.model_validate_json((path / MANIFEST_FILE).read_bytes())
        except ValidationError:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            return CatalogEntry(path, None, f"invalid manifest at {where}: {first['msg']}")
        return CatalogEntry(
            path, None, f"gateway baseline {baseline.reference} of gateway {baseline.gateway_id}"
        )
    return CatalogEntry(path, manifest)


def find_bundles(root: Path) -> list[CatalogEntry]:
    """Every bundle directory under ``root`` (at any depth), sorted by path."""
    root = Path(root)
    if (root / MANIFEST_FILE).is_file():
        return [read_entry(root)]
    return [read_entry(m.parent) for m in sorted(root.rglob(MANIFEST_FILE))]


def summary(manifest: BundleManifest) -> dict[str, Any]:
    """The facts an operator needs about a bundle, as plain JSON-ready values."""
    return {
        "name": manifest.name,
        "version": manifest.version,
        "created_at": manifest.created_at.isoformat(),
        "task": manifest.task,
        "model_kind": manifest.model_kind,
        "layout": manifest.input.layout.value,
        "raw_features": len(manifest.input.raw_features),
        "classes": list(manifest.classes),
        "category_map": manifest.category_map,
        "benign_classes": list(manifest.decision.benign_classes),
        "confidence_threshold": manifest.decision.confidence_threshold,
        "output": f"{manifest.output.scores} ({manifest.output.kind})",
        "metrics": manifest.metrics.model_dump(exclude={"per_class_f1"}),
        "training": {
            "protocol": manifest.training.protocol,
            "train_rows": manifest.training.train_rows,
            "labels_present": dict(manifest.training.labels_present),
            "seed": manifest.training.seed,
            "code_version": manifest.training.code_version,
        },
        "parity": manifest.parity.model_dump(),
        "model_sha256": manifest.sha256[manifest.files.model],
    }


__all__ = ["CatalogEntry", "find_bundles", "read_entry", "summary"]

"""Fixtures for the demo's unit tests: two tiny 8-class bundles and the shipped flow profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bundles import make_tiny_bundle
from support.signing import suite_public_key

from iotad.demo.profiles import FlowProfiles, load_table
from iotad.schemas.labels import Task
from iotad.settings import StreamSettings
from iotad.stream.core import ServingModel
from iotad.stream.loader import load_model

CATEGORY_CLASSES = ("DDoS", "Recon", "Web", "Benign")


@pytest.fixture(scope="session")
def demo_bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two versions of a tiny 4-category model (cic39 layout)."""
    root = tmp_path_factory.mktemp("demo-bundles")
    first, second = root / "task8" / "tiny" / "v1", root / "task8" / "tiny" / "v2"
    for path, version, seed in ((first, "v1", 0), (second, "v2", 1)):
        make_tiny_bundle(
            path, classes=CATEGORY_CLASSES, task=Task.CATEGORY, version=version, seed=seed
        )
    return first, second


@pytest.fixture(scope="session")
def tiny_model(demo_bundles: tuple[Path, Path]) -> ServingModel:
    """The first tiny bundle, ready to score (threshold 0.5)."""
    return load_model(demo_bundles[0], StreamSettings(trusted_keys=(suite_public_key(),))).serving


@pytest.fixture(scope="session")
def profiles() -> FlowProfiles:
    """The shipped flow-profile table."""
    return FlowProfiles(load_table())

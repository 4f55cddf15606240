"""Shared fixtures of the offline stage tests: a small real data tree, ingested and cleaned once."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.offline_data import write_fixture_tree

from iotad.offline.config import CleanConfig, IngestConfig
from iotad.offline.frames import parquet_parts
from iotad.offline.scheduler import DaskExecutor
from iotad.offline.sources import discover_sources
from iotad.offline.stages.clean import clean
from iotad.offline.stages.ingest import ingest
from iotad.schemas.features import FEATURES_39


@pytest.fixture(scope="session")
def executor() -> Iterator[DaskExecutor]:
    with DaskExecutor(local="threads", workers=2) as running:
        yield running


@pytest.fixture(scope="session")
def data_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture_tree(tmp_path_factory.mktemp("tree"), rows_per_file=400, merged_rows=600)


@pytest.fixture(scope="session")
def ingested(
    data_tree: Path, tmp_path_factory: pytest.TempPathFactory, executor: DaskExecutor
) -> Path:
    dest = tmp_path_factory.mktemp("ingest")
    sources, skipped = discover_sources([data_tree])
    ingest(sources, dest, IngestConfig(), executor, skipped=skipped)
    return dest / "cic39"


@pytest.fixture(scope="session")
def cleaned(
    ingested: Path, tmp_path_factory: pytest.TempPathFactory, executor: DaskExecutor
) -> Path:
    dest = tmp_path_factory.mktemp("clean")
    clean(parquet_parts(ingested), dest, FEATURES_39, CleanConfig(), executor)
    return dest

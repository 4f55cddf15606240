"""The JSON Schema files are generated from the models, and every example validates."""

import json
from pathlib import Path

import jsonschema
import pytest

from iotad.schemas.control import ModelControl
from iotad.schemas.export import SCHEMA_DIR, SCHEMA_FILES, stale_files
from iotad.schemas.incidents import Incident
from iotad.schemas.messages import Alert, DeadLetter, Flow, FlowBatch
from iotad.schemas.signing import BundleSignature

EXAMPLES = {
    "flow_cic39.json": ("flow.v1.json", Flow),
    "flow_cic46.json": ("flow.v1.json", Flow),
    "flow_batch.json": ("flow_batch.v1.json", FlowBatch),
    "alert.json": ("alert.v1.json", Alert),
    "incident.json": ("incident.v1.json", Incident),
    "dead_letter.json": ("dead_letter.v1.json", DeadLetter),
    "model_control.json": ("model_control.v1.json", ModelControl),
    "bundle_signature.json": ("bundle_signature.v1.json", BundleSignature),
}


def test_committed_schema_files_match_models() -> None:
    assert stale_files() == [], "run: python -m iotad.schemas.export"


@pytest.mark.parametrize("file_name", sorted(SCHEMA_FILES))
def test_schema_files_are_valid_2020_12(file_name: str) -> None:
    schema = json.loads((SCHEMA_DIR / file_name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_examples_validate_against_schema_and_model(example: str) -> None:
    schema_file, model = EXAMPLES[example]
    document = json.loads((SCHEMA_DIR / "examples" / example).read_text())
    schema = json.loads((SCHEMA_DIR / schema_file).read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert model.model_validate(document).model_dump(mode="json", exclude_none=False)


def test_every_example_is_checked() -> None:
    on_disk = {p.name for p in (SCHEMA_DIR / "examples").glob("*.json")}
    assert on_disk == set(EXAMPLES) | {"bundle_manifest.json"}


def test_bundle_manifest_example_validates() -> None:
    schema = json.loads((SCHEMA_DIR / "bundle_manifest.v1.json").read_text())
    document = json.loads((SCHEMA_DIR / "examples" / "bundle_manifest.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)


def test_batch_columns_must_have_count_entries() -> None:
    document = json.loads((SCHEMA_DIR / "examples" / "flow_batch.json").read_text())
    document["device_id"] = document["device_id"][:1]
    with pytest.raises(ValueError, match="device_id=1"):
        FlowBatch.model_validate(document)


def test_non_finite_feature_is_rejected() -> None:
    document = json.loads((SCHEMA_DIR / "examples" / "flow_cic39.json").read_text())
    document["features"]["Rate"] = float("inf")
    with pytest.raises(ValueError, match="finite"):
        Flow.model_validate(document)


def test_unknown_feature_name_is_rejected() -> None:
    document = json.loads((SCHEMA_DIR / "examples" / "flow_cic39.json").read_text())
    document["features"]["Bogus"] = 1.0
    with pytest.raises(ValueError, match="features.Bogus"):
        Flow.model_validate(document)


def test_schema_dir_is_the_package_dir() -> None:
    assert (SCHEMA_DIR / "messages.py").is_file()
    assert Path(SCHEMA_DIR / "examples").is_dir()

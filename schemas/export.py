"""Generate the JSON Schema files in this folder from the pydantic models.

Run ``python -m iotad.schemas.export`` after changing a model; ``--check`` exits non-zero when a
committed file is out of date (the tests run the same check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from iotad.schemas.baseline_manifest import BaselineManifest
from iotad.schemas.calibration import CalibrationFile
from iotad.schemas.control import ModelControl
from iotad.schemas.incidents import Incident
from iotad.schemas.manifest import BundleManifest
from iotad.schemas.messages import Alert, DeadLetter, Flow, FlowBatch
from iotad.schemas.signing import BundleSignature

SCHEMA_DIR = Path(__file__).resolve().parent
DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: file name → model. The version in the name changes only with a breaking change.
SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "flow.v1.json": Flow,
    "flow_batch.v1.json": FlowBatch,
    "alert.v1.json": Alert,
    "incident.v1.json": Incident,
    "dead_letter.v1.json": DeadLetter,
    "bundle_manifest.v1.json": BundleManifest,
    "baseline_manifest.v1.json": BaselineManifest,
    "calibration.v1.json": CalibrationFile,
    "bundle_signature.v1.json": BundleSignature,
    "model_control.v1.json": ModelControl,
}


def render(file_name: str) -> str:
    """The JSON Schema text for one file, as committed."""
    schema = SCHEMA_FILES[file_name].model_json_schema(by_alias=True, mode="validation")
    document = {"$schema": DIALECT, "$id": f"https://iotad.invalid/schemas/{file_name}", **schema}
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def stale_files(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    return [
        name
        for name in SCHEMA_FILES
        if not (directory / name).is_file() or (directory / name).read_text() != render(name)
    ]


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) every schema file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    args = parser.parse_args(argv)
    stale = stale_files()
    if args.check:
        for name in stale:
            sys.stderr.write(f"out of date: schemas/{name}\n")
        return 1 if stale else 0
    for name in SCHEMA_FILES:
        (SCHEMA_DIR / name).write_text(render(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

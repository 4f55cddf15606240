"""Choosing and verifying the demo's two bundles, and reading a promote's outcome."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from support.signing import suite_public_key

from iotad.demo.bundles import default_paths, resolve_bundles
from iotad.demo.hot_swap import swap_report
from iotad.errors import ModelLoadError
from iotad.schemas.control import ControlAction
from iotad.schemas.messages import ModelRef
from iotad.settings import load_settings
from iotad.stream.model_control import ControlOutcome, control_event

REF = ModelRef(name="m", version="v2", sha256="a" * 64)


def _settings(models_dir: Path, **demo: object) -> object:
    return load_settings(
        overrides={
            "offline": {"models_dir": models_dir},
            "demo": demo,
            "stream": {"trusted_keys": [str(suite_public_key())]},
        }
    )


def test_defaults_json_names_the_two_bundles(
    demo_bundles: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = demo_bundles
    models = first.parents[2]
    (models / "defaults.json").write_bytes(
        orjson.dumps({"default": "task8/tiny/v1", "swap": "task8/tiny/v2"})
    )
    assert default_paths(models) == (models / "task8/tiny/v1", models / "task8/tiny/v2")
    bundles = resolve_bundles(_settings(models))  # type: ignore[arg-type]
    assert bundles.first.manifest.version == "v1" and bundles.second.manifest.version == "v2"
    assert bundles.layout.value == "cic39"


def test_missing_or_identical_bundles_say_how_to_fix_it(
    demo_bundles: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(ModelLoadError, match="defaults.json is missing") as missing:
        resolve_bundles(_settings(tmp_path))  # type: ignore[arg-type]
    assert missing.value.hint is not None and "build_default_bundles.py" in missing.value.hint
    (tmp_path / "defaults.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not a valid bundle index"):
        default_paths(tmp_path)
    first, _ = demo_bundles
    with pytest.raises(ModelLoadError, match="has no manifest.json"):
        resolve_bundles(_settings(tmp_path, bundle=first, swap_bundle=tmp_path / "nope"))  # type: ignore[arg-type]
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)
    with pytest.raises(ModelLoadError, match="is the bundle the worker starts with"):
        resolve_bundles(_settings(tmp_path, bundle=first, swap_bundle=copy))  # type: ignore[arg-type]


def _outcome(*replies: tuple[ControlAction, int, str | None]) -> ControlOutcome:
    request = control_event(ControlAction.PROMOTE, "/b/v2", model=REF)
    answers = tuple(
        control_event(action, "/b/v2", model=REF, request_id=request.event_id,
                      worker_id="host:1", reason=reason).model_copy(
            update={"issued_at_ms": request.issued_at_ms + delay_ms}
        )
        for action, delay_ms, reason in replies
    )  # fmt: skip
    return ControlOutcome(request, answers, 1.0)


def test_swap_report_reads_the_workers_answer() -> None:
    done = swap_report(_outcome((ControlAction.ACTIVATED, 750, None)), 30.0, "m@v1", "m@?")
    assert done.activated and done.seconds == 0.75 and done.after == "m@v2"
    assert done.before == "m@v1" and done.worker == "host:1" and done.at_s == 30.0
    refused = swap_report(_outcome((ControlAction.REFUSED, 10, "canary failed")), 1.0, "m@v1", "x")
    assert refused.outcome == "refused" and refused.reason == "canary failed"
    assert refused.after == "m@v1"
    silent = swap_report(_outcome(), 1.0, "m@v1", "x")
    assert silent.outcome == "no reply" and not silent.activated

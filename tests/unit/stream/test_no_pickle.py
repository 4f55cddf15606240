"""No pickle or joblib on the serving path: a bundle is JSON, ONNX and a signature, nothing else.

A pickle load runs code chosen by whoever wrote the file, so a checksum or signature check that
comes after one is too late. These tests prove the worker never unpickles:

* in a fresh interpreter, the worker's modules are imported, a signed bundle is loaded and a
  batch is scored while an audit hook records every ``pickle.find_class`` (fired by any unpickling
  of an object, whichever module does it) and ``pickle.load``/``loads`` are spied on; a control
  unpickling at the end shows the hook does fire. scikit-learn and joblib are never imported;
* every project module that interpreter imported, and every file under ``stream/`` and
  ``schemas/``, is parsed: none imports pickle, joblib or their kin, or calls with
  ``allow_pickle=True``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.signing import suite_public_key

REPO = Path(__file__).resolve().parents[3]
FORBIDDEN = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "shelve", "joblib"}
FORBIDDEN_HEAVY = {"joblib", "sklearn", "skl2onnx", "cloudpickle", "dill"}

SERVE = textwrap.dedent(
    """
    import json, sys
    unpickled, calls = [], []

    def audit(event, args):
        if event == "pickle.find_class":
            unpickled.append(f"{args[0]}.{args[1]}")

    sys.addaudithook(audit)
    import pickle
    for name in ("load", "loads"):
        original = getattr(pickle, name)
        def spy(*a, _name=name, _original=original, **k):
            calls.append(_name)
            return _original(*a, **k)
        setattr(pickle, name, spy)

    import time
    from pathlib import Path
    import orjson
    import iotad.stream.agents, iotad.stream.app, iotad.stream.control_listener
    import iotad.stream.worker
    from iotad.schemas.features import FEATURES_39
    from iotad.settings import StreamSettings
    from iotad.stream.core import InboundMessage
    from iotad.stream.core.pipeline import ScoringOptions, process_batch
    from iotad.stream.loader import load_model

    bundle, key = Path(sys.argv[1]), Path(sys.argv[2])
    loaded = load_model(bundle, StreamSettings(trusted_keys=(key,), confidence_threshold=0.0))
    flows = [
        {"schema": "iotad.flow.v1", "gateway_id": "g", "device_id": "d", "flow_id": f"f{i}",
         "event_time_ms": 1_795_718_400_000 + i,
         "features": {n: float(10 + i + c) for c, n in enumerate(FEATURES_39)}}
        for i in range(50)
    ]
    messages = [InboundMessage(orjson.dumps(f), "flows", 0, i, b"d") for i, f in enumerate(flows)]
    options = ScoringOptions(max_message_bytes=1 << 20, max_dead_letter_original_bytes=1 << 16)
    outcome = process_batch(messages, loaded.serving, options, now_ms=int(time.time() * 1000))
    result = {
        "signed_by": loaded.signed_by,
        "scored": outcome.scored,
        "unpickled": list(unpickled),
        "calls": list(calls),
        "modules": sorted(sys.modules),
        "files": sorted(
            {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""}
        ),
    }
    import collections
    pickle.loads(pickle.dumps(collections.OrderedDict(a=1)))  # the control: must be seen
    result["control"] = unpickled[len(result["unpickled"]):]
    print(json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def served(bundles: dict[str, Path]) -> dict[str, object]:
    """What the fresh interpreter saw while loading a signed bundle and scoring a batch."""
    done = subprocess.run(
        [sys.executable, "-c", SERVE, str(bundles["binary-v1"]), str(suite_public_key())],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_loading_and_scoring_a_bundle_never_unpickles(served: dict[str, object]) -> None:
    assert served["scored"] == 50 and served["signed_by"]
    assert served["unpickled"] == [] and served["calls"] == []
    assert served["control"] == ["collections.OrderedDict"]  # the hook does see unpickling


def test_the_serving_path_never_imports_scikit_learn_or_joblib(
    served: dict[str, object],
) -> None:
    modules = {str(m).split(".")[0] for m in served["modules"]}  # type: ignore[attr-defined]
    assert "iotad" in modules and "onnxruntime" in modules
    assert modules & FORBIDDEN_HEAVY == set()


def _forbidden_uses(path: Path) -> list[str]:
    """Imports of pickle-like modules and ``allow_pickle=True`` calls in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [
            f"{path}:{node.lineno} imports {n}" for n in names if n.split(".")[0] in FORBIDDEN
        ]
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "allow_pickle":
                    found.append(f"{path}:{node.lineno} passes allow_pickle")
    return found


def test_no_serving_module_imports_pickle_or_joblib(served: dict[str, object]) -> None:
    imported = {
        Path(f).resolve()
        for f in served["files"]  # type: ignore[attr-defined]
        if str(Path(f).resolve()).startswith(str(REPO)) and f.endswith(".py")
    }
    assert any(p.parts[-2:] == ("stream", "loader.py") for p in imported)
    tree = set((REPO / "stream").rglob("*.py")) | set((REPO / "schemas").rglob("*.py"))
    problems = [p for path in sorted(imported | tree) for p in _forbidden_uses(path)]
    assert problems == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import pickle\nfrom joblib import load\nnp.load(f, allow_pickle=True)\n")
    assert len(_forbidden_uses(sample)) == 3

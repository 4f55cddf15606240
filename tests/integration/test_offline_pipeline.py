"""The whole offline pipeline on a small real subset: both protocols, tasks 2 and 8, fast models.

Real CICIoT2023 rows (a few per-class captures, cut short, plus the whole MERGED sample) go from
CSV to verified bundles through the real CLI; small balance targets come from a config file.
"""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console as RichConsole
from support.offline_data import write_fixture_tree

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.bundle import load_bundle, open_session
from iotad.schemas.keys import generate_keypair, load_trusted_keys
from iotad.schemas.signing import SignatureState, TrustPolicy

LABELS = (
    "XSS", "SqlInjection", "DictionaryBruteForce", "Recon-PingSweep", "Mirai-udpplain",
    "DDoS-ACK_Fragmentation",
)  # fmt: skip
MODELS = ("rf-compact", "lr", "perceptron")


def _iotad(*args: str) -> tuple[ExitCode, str]:
    out = io.StringIO()
    console = Console(
        out=RichConsole(file=out, width=200), err=RichConsole(file=io.StringIO(), width=200)
    )
    return main(list(args), console), out.getvalue()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_csv_to_verified_bundles_and_results(tmp_path: Path) -> None:
    data = write_fixture_tree(
        tmp_path / "data", labels=LABELS, rows_per_file=1500, merged_rows=None
    )
    config = tmp_path / "iotad.toml"
    config.write_text('[offline]\ntarget_scale = 0.03\nlocal_scheduler = "threads"\n')
    out, models = tmp_path / "out", tmp_path / "models"
    private, public, key_id = generate_keypair(tmp_path / "keys", "release")
    runs = {}
    for protocol in ("holdout", "study"):
        args = ("-c", str(config), "--log-level", "WARNING", "offline", "run",
                "--data", str(data), "--out", str(out), "--protocol", protocol, "--tasks", "2,8",
                "--models", ",".join(MODELS), "--export-to", str(models))  # fmt: skip
        signing = ("--signing-key", str(private)) if protocol == "holdout" else ()
        code, printed = _iotad(*args, *signing)
        assert code == ExitCode.OK, printed
        runs[protocol] = (*args, *signing)
    trust = TrustPolicy(load_trusted_keys([public]), allow_unsigned=True)
    states = {
        (path.name.split("-")[0], load_bundle(path, trust).signature.state)  # type: ignore[union-attr]
        for path in models.glob("task*/*/*")
    }
    assert states == {("holdout", SignatureState.SIGNED), ("study", SignatureState.UNSIGNED)}

    bundles = sorted(models.glob("task*/*/*"))
    assert len(bundles) == 2 * 2 * len(MODELS)
    for path in bundles:
        bundle = load_bundle(path)
        session = open_session(bundle)  # checksums, scaler + mask, canary rows
        assert bundle.manifest.parity.passed and bundle.manifest.parity.class_agreement >= 0.999
        import onnxruntime as ort

        plain = ort.InferenceSession(str(path / "model.onnx"), providers=["CPUExecutionProvider"])
        raw = np.asarray(bundle.canary.rows, dtype=np.float32)
        assert plain.run(None, {bundle.manifest.input.onnx_input: bundle.transform.apply(raw)})
        assert session.scores(raw).shape == (len(raw), len(bundle.manifest.classes))

    for protocol in ("holdout", "study"):
        results = out / protocol / "results"
        assert "Logistic Regression" in (results / "results.md").read_text()
        run = json.loads((results / "run.json").read_text())
        assert run["data"]["labels_present"]["BenignTraffic"] > 0
        assert "BrowserHijacking" in run["data"]["labels_missing"]
        assert {(m["task"], m["model"]) for m in run["models"]} == {
            (t, m) for t in (2, 8) for m in MODELS
        }
    holdout = json.loads((out / "holdout" / "results" / "run.json").read_text())
    study = json.loads((out / "study" / "results" / "run.json").read_text())
    assert holdout["tasks"][1]["test_rows"] > study["tasks"][1]["test_rows"] / 10

    code, printed = _iotad(*runs["holdout"])
    assert code == ExitCode.OK and "0 stage(s) ran" in printed
    # A key given later: only the export stages re-run, and sign the bundles already there.
    code, printed = _iotad(*runs["study"], "--signing-key", str(private))
    assert code == ExitCode.OK and "0 stage(s) ran" not in printed, printed
    for path in models.glob("task*/*/study-*"):
        check = load_bundle(path, TrustPolicy(load_trusted_keys([public]))).signature
        assert check is not None and check.key_id == key_id

    code, _ = _iotad("offline", "report", "--out", str(out), "--to", str(tmp_path / "results.md"))
    assert code == ExitCode.OK
    document = (tmp_path / "results.md").read_text()
    assert "holdout macro-F1" in document and "study macro-F1" in document
    assert "## Data used" in document and "Labels with no row in the data" in document
    assert list((tmp_path / "img").glob("*.png"))

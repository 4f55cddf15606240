"""`iotad baseline learn --pcap`: packets → the capture wing's windows → a verified baseline."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console as RichConsole
from support.packets import write_pcap
from support.traffic import dns_queries, http_burst

from iotad.baseline import BaselineConfig, learn_baseline
from iotad.capture import CaptureOptions
from iotad.capture.learning import pcap_learning_rows
from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.baseline_bundle import bundle_kind
from iotad.schemas.features import FEATURES_39, FeatureLayout
from iotad.stream.baselines import load_gateway_baseline


def _run(*args: str) -> tuple[ExitCode, str, str]:
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=RichConsole(file=out, width=200), err=RichConsole(file=err, width=200))
    return main(list(args), console=console), out.getvalue(), err.getvalue()


def _ward(tmp_path: Path) -> Path:
    """A ward's benign traffic: web requests, then DNS lookups (500 packets, 50 windows)."""
    packets = http_burst(150) + dns_queries(200, start=1_700_000_003.0)
    return write_pcap(tmp_path / "ward.pcap", packets)


def test_a_pcap_gives_a_bundle_that_verifies(tmp_path: Path) -> None:
    pcap = _ward(tmp_path)
    dest = tmp_path / "baselines" / "v1"
    code, out, err = _run("baseline", "learn", "--gateway", "ward3-gw", "--pcap", str(pcap),
                          "--out", str(dest))  # fmt: skip
    assert code == ExitCode.OK, err
    assert "500 packets from 1 file → 50 windows" in err and "50 learning flows" in err
    assert "fitted on 38 flows" in out and str(dest) in out
    assert bundle_kind(dest) == "baseline"
    loaded = load_gateway_baseline(dest)  # checksums, graph and canary rows, as a worker does
    assert loaded.baseline.gateway_id == "ward3-gw"
    assert "capture windows of" in loaded.manifest.training.source
    code, out, _ = _run("models", "verify", str(dest))
    assert code == ExitCode.OK and "OK gateway baseline" in out


def test_the_rows_are_the_ones_iotad_capture_writes(tmp_path: Path) -> None:
    pcap = _ward(tmp_path)
    code, _, err = _run("capture", str(pcap), "--csv", str(tmp_path / "rows.csv"))
    assert code == ExitCode.OK, err
    written = pd.read_csv(tmp_path / "rows.csv")
    written = written.sort_values("event_time_ms", kind="stable")
    rows, summary = pcap_learning_rows([pcap], CaptureOptions(), chunk_bytes=1 << 20)
    assert rows.layout is FeatureLayout.CIC39 and summary.packets_read == 500
    np.testing.assert_allclose(rows.values, written[list(FEATURES_39)].to_numpy(), rtol=1e-12)


def test_bad_sources_are_refused_with_a_reason(tmp_path: Path) -> None:
    learn = ("baseline", "learn", "--gateway", "gw")
    code, _, err = _run(*learn, "--pcap", str(tmp_path / "missing.pcap"))
    assert code == ExitCode.DATA and "does not exist" in err
    text = tmp_path / "notes.pcap"
    text.write_text("not a capture at all\n")
    code, _, err = _run(*learn, "--pcap", str(text))
    assert code == ExitCode.DATA and "notes.pcap" in err and "pcap and pcapng" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(*learn, "--pcap", str(empty))
    assert code == ExitCode.DATA and "no .pcap/.pcapng file" in err
    pcap = _ward(tmp_path)
    code, _, err = _run(*learn, "--pcap", str(pcap), "--csv", str(tmp_path / "rows.csv"))
    assert code == ExitCode.CONFIG and "exactly one of --csv" in err
    code, _, err = _run(*learn, "--pcap", str(pcap), "--from-topic")
    assert code == ExitCode.CONFIG and "exactly one of" in err
    code, _, err = _run(*learn)
    assert code == ExitCode.CONFIG and "--pcap FILE" in err
    code, _, err = _run(*learn, "--pcap", str(pcap), "--benign-only")
    assert code == ExitCode.CONFIG and "--benign-only needs --csv" in err


def test_identical_windows_and_float_noise_spreads_keep_parity(tmp_path: Path) -> None:
    """A steady sender makes identical windows and a Rate that varies in its last bits only:
    the bundle must still reproduce its scores (the graph's float32 distances near 0)."""
    rng = np.random.default_rng(5)
    one = rng.lognormal(3.0, 1.0, size=(1, 39))
    rows = np.repeat(one, 200, axis=0)
    rows[:, 3] *= 1.0 + rng.choice([0.0, 1e-15, -1e-15], size=200)  # Rate: float noise only
    rows[::7] *= rng.lognormal(0.0, 0.05, size=(len(rows[::7]), 39))
    dest, manifest = learn_baseline(
        rows, gateway_id="gw-steady", layout=FeatureLayout.CIC39, config=BaselineConfig(),
        source="synthetic", dest_root=tmp_path, version="1",
    )  # fmt: skip
    assert manifest.parity.passed and manifest.parity.max_abs_score_diff <= 1e-3
    scorer = load_gateway_baseline(dest).baseline.scorer
    assert float(scorer.scores(rows[1:2])[0]) >= 0.1  # the floor of the distance

"""`iotad demo` on a ``.[stream]``-only install: nothing from the offline extra is needed.

matplotlib (the chart) comes with the offline extra; without it the demo runs and reports why
there is no chart. The other offline-only distributions are never imported by the demo or the
worker it starts.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console as RichConsole

from iotad.console import Console
from iotad.demo.chart import ChartUnavailable, plot_alerts
from iotad.demo.report import CHART_FILE, SUMMARY_FILE, write_report
from iotad.demo.runner import DemoRequest, DemoRun
from iotad.settings import load_settings

#: Top-level modules only the offline extra installs.
OFFLINE_ONLY = (
    "matplotlib", "sklearn", "pandas", "dask", "distributed", "dask_ml", "tensorflow", "keras",
    "imblearn", "pyarrow", "skl2onnx", "tf2onnx", "onnx",
)  # fmt: skip


def test_without_matplotlib_the_chart_is_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    with pytest.raises(ChartUnavailable, match="matplotlib is not installed") as caught:
        plot_alerts(tmp_path / "a.png", {"DDoS": [1, 2]}, title="t", swap_at_s=None, swap_label="")
    assert caught.value.hint and "iotad[offline]" in caught.value.hint


def test_without_matplotlib_the_demo_report_is_written_and_says_why_there_is_no_chart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out, err = io.StringIO(), io.StringIO()
    console = Console(RichConsole(file=out, width=200), RichConsole(file=err, width=200))
    run = DemoRun(DemoRequest(load_settings(), run_dir=tmp_path / "run"), console)
    run.progress.begin()
    write_report(run, None)
    assert (tmp_path / "run" / SUMMARY_FILE).is_file()
    assert not (tmp_path / "run" / CHART_FILE).exists()
    assert "chart: (no chart: matplotlib is not installed" in out.getvalue()
    assert "warning:" in err.getvalue() and "iotad[offline]" in err.getvalue()


_BLOCKER = """
import importlib, pkgutil, sys
BLOCKED = set(sys.argv[1].split(","))
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (offline extra not installed)")
sys.meta_path.insert(0, Blocker())
for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]
import iotad.demo
for module in pkgutil.iter_modules(iotad.demo.__path__):
    importlib.import_module("iotad.demo." + module.name)
import iotad.stream.app, iotad.stream.worker, iotad.stream.loader, iotad.stream.replay.runner
from iotad.cli.main import main
sys.exit(int(main(["demo", "--help"])))
"""


def test_the_demo_and_the_worker_import_nothing_from_the_offline_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKER, ",".join(OFFLINE_ONLY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "--duration" in done.stdout

"""The whole study pipeline on the full SYNTHETIC set: wall time and peak memory per stage.

Runs ``iotad offline run --protocol study`` in a child process and follows the stage lines it
prints (``• <stage> <key>: running`` … ``done in``); a sampler adds up the resident memory of the
child's whole process tree (Dask workers included) every 0.2 s and keeps the peak per stage.
Per-stage wall times are the runner's own (from its stage manifests). The run can take hours on
2 cores; start it with nohup and read the log under ``var/``::

    nohup python bench/pipeline_scale.py --data /tmp/iotad-synth --out /tmp/iotad-scale \\
        > var/bench/pipeline_scale.log 2>&1 &

Interrupting it (or a stage that never ends) still leaves every finished stage's figures in the
JSON it writes after each stage. All data is SYNTHETIC (``iotad offline synth``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from machine import machine

REPO = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"• (\w+) (\S+): (running|done in ([\d.]+) s|up to date, skipped)")


class StagePeaks:
    """Peak tree RSS per stage, attributed by the stage lines of the run."""

    def __init__(self) -> None:
        self.current = "startup"
        self.peaks: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.lock = threading.Lock()

    def sample(self, rss: int) -> None:
        with self.lock:
            self.peaks[self.current] = max(self.peaks.get(self.current, 0.0), rss / 1024**3)

    def line(self, text: str) -> None:
        match = STAGE_LINE.search(text)
        if not match:
            return
        stage, key, state, seconds = match.groups()
        name = f"{stage} {key}"
        with self.lock:
            if state == "running":
                self.current = name
            elif seconds is not None:
                self.seconds[name] = float(seconds)
                self.current = "between stages"


def run(command: list[str], peaks: StagePeaks, report: Path, results: dict[str, object]) -> int:
    child = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO, bufsize=1
    )
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(child.pid)
        while not done.is_set():
            try:
                total = 0
                for process in [root, *root.children(recursive=True)]:
                    try:
                        total += process.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
                peaks.sample(total)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    assert child.stderr is not None
    for text in child.stderr:
        sys.stderr.write(text)
        peaks.line(text)
        if "done in" in text:
            _write(report, results, peaks)
    child.wait()
    done.set()
    return child.returncode


def _write(report: Path, results: dict[str, object], peaks: StagePeaks) -> None:
    with peaks.lock:
        results["stages"] = {
            name: {"seconds": peaks.seconds.get(name), "peak_rss_gib": round(peak, 3)}
            for name, peak in peaks.peaks.items()
        }
    report.write_text(json.dumps(results, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="synthetic CSV folder")
    parser.add_argument("--out", type=Path, required=True, help="artifact folder of the run")
    parser.add_argument("--tasks", default="2,8,34")
    parser.add_argument("--models", default="rf,lr,ada,perceptron,dnn")
    parser.add_argument("--from", dest="start", default=None, help="start at this stage")
    parser.add_argument("--to", default=None, help="stop after this stage")
    parser.add_argument("--force", action="store_true", help="re-run stages even if up to date")
    args = parser.parse_args()
    iotad = str(Path(sys.executable).with_name("iotad"))
    command = [iotad, "offline", "run", "--protocol", "study", "--data", str(args.data),
               "--out", str(args.out), "--tasks", args.tasks, "--models", args.models]  # fmt: skip
    if args.start:
        command += ["--from", args.start]
    if args.to:
        command += ["--to", args.to]
    if args.force:
        command.append("--force")
    results: dict[str, object] = {
        "machine": machine(),
        "data": "SYNTHETIC (iotad offline synth)",
        "command": " ".join(command),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"machine: {results['machine']}\ncommand: {results['command']}", flush=True)
    report = REPO / "var" / "bench" / f"pipeline_scale-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    peaks = StagePeaks()
    started = time.perf_counter()
    code = run(command, peaks, report, results)
    results["exit_code"] = code
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    _write(report, results, peaks)
    for name, figures in results["stages"].items():  # type: ignore[attr-defined]
        print(f"{name:45s} {figures['seconds']!s:>10} s  peak {figures['peak_rss_gib']:.2f} GiB")
    print(f"exit code {code}, {results['wall_seconds']} s in all; written {report}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())

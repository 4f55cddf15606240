"""Ingest at scale: SYNTHETIC CICIoT2023 part files → Parquet, wall time and peak memory.

Runs every measurement in a fresh child process and samples the resident memory of the child's
whole process tree (the child plus every Dask worker it starts) every 0.1 s; the peak is the sum
of RSS over the tree (shared pages counted once per process, so an upper bound).

1. optionally writes the synthetic set (``--generate-rows``; the full release is 46,686,579 rows);
2. on a slice of about ``--slice-gb`` GB: the naive way (pandas ``read_csv`` of every file, then
   ``concat``) and the pipeline's ``ingest`` on each local scheduler;
3. the pipeline's ``ingest`` of every file, on ``--full-scheduler``, checked against the targets
   (10 minutes, 4 GiB).

All data here is SYNTHETIC (``iotad offline synth``); figures are labelled so.

    python bench/ingest_scale.py --data /tmp/iotad-synth --generate-rows 46686579
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from machine import machine

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 600
TARGET_BYTES = 4 * 1024**3


def measure(command: list[str]) -> dict[str, object]:
    """Run ``command``; return its wall time, peak tree RSS and the JSON it printed last."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(child.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                total = 0
                for process in tree:
                    try:
                        total += process.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
                peak = max(peak, total)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "wall_seconds": round(wall, 2), "peak_rss_gib": round(peak / 1024**3, 3)}


def child_ingest(scheduler: str, out: Path, files: list[Path]) -> None:
    """(child) The pipeline's ingest stage on ``files``."""
    from iotad.offline.config import IngestConfig
    from iotad.offline.scheduler import DaskExecutor
    from iotad.offline.sources import discover_sources
    from iotad.offline.stages.ingest import ingest

    sources, _ = discover_sources(files)
    started = time.perf_counter()
    with DaskExecutor(local=scheduler) as executor:  # type: ignore[arg-type]
        report = ingest(sources, out, IngestConfig(), executor)
    seconds = time.perf_counter() - started
    rows = sum(r.rows_written for r in report.files)
    parquet = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    print(json.dumps({"rows": rows, "seconds": round(seconds, 2), "parquet_bytes": parquet}))


def child_naive(files: list[Path]) -> None:
    """(child) pandas ``read_csv`` of every file, then ``concat``."""
    import pandas as pd

    started = time.perf_counter()
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": len(frame), "seconds": round(seconds, 2)}))


def csv_files(data: Path) -> list[Path]:
    return sorted(data.glob("synthetic-part-*.csv"))


def slice_of(files: list[Path], gigabytes: float) -> list[Path]:
    chosen, total = [], 0
    for path in files:
        if total >= gigabytes * 1e9:
            break
        chosen.append(path)
        total += path.stat().st_size
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of synthetic CSV files")
    parser.add_argument("--generate-rows", type=int, help="write this many synthetic rows first")
    parser.add_argument("--slice-gb", type=float, default=1.0)
    parser.add_argument("--schedulers", default="threads,processes,distributed")
    parser.add_argument("--repeat", type=int, default=1, help="slice runs per scheduler")
    parser.add_argument("--full-scheduler", default="distributed")
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-slice", action="store_true", help="only the full set")
    parser.add_argument("--delete-data", action="store_true", help="remove --data when done")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "iotad-bench")
    parser.add_argument("--child", choices=["ingest", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--scheduler", default="threads", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "ingest":
        child_ingest(args.scheduler, args.out, args.files)
        return 0
    if args.child == "naive":
        child_naive(args.files)
        return 0

    results: dict[str, object] = {"machine": machine(), "data": "SYNTHETIC (iotad offline synth)"}
    print(f"machine: {results['machine']}")
    iotad = [str(Path(sys.executable).with_name("iotad"))]
    if args.generate_rows:
        shutil.rmtree(args.data, ignore_errors=True)
        command = [
            *iotad,
            "offline",
            "synth",
            "--rows",
            str(args.generate_rows),
            "--out",
            str(args.data),
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=REPO)
        results["generate_seconds"] = round(time.perf_counter() - started, 1)
        print(f"generated {args.generate_rows} synthetic rows in {results['generate_seconds']} s")
    files = csv_files(args.data)
    total_bytes = sum(f.stat().st_size for f in files)
    results["set"] = {"files": len(files), "csv_bytes": total_bytes}
    me = [sys.executable, str(Path(__file__).resolve())]

    part = slice_of(files, args.slice_gb)
    part_bytes = sum(f.stat().st_size for f in part)
    runs: dict[str, object] = {"csv_bytes": part_bytes, "files": len(part)}
    if not args.skip_slice:
        print(f"slice: {len(part)} files, {part_bytes / 1e9:.2f} GB of synthetic CSV")
        naive = [*me, "--data", str(args.data), "--child", "naive", *map(str, part)]
        runs["naive_pandas"] = measure(naive)
        print(f"  naive pandas read_csv + concat: {runs['naive_pandas']}")
    for attempt in range(0 if args.skip_slice else args.repeat):
        for scheduler in args.schedulers.split(","):
            out = args.work / f"slice-{scheduler}"
            shutil.rmtree(out, ignore_errors=True)
            command = [*me, "--data", str(args.data), "--child", "ingest", "--scheduler",
                       scheduler, "--out", str(out), *map(str, part)]  # fmt: skip
            result = measure(command)
            runs.setdefault(f"ingest_{scheduler}", []).append(result)  # type: ignore[union-attr]
            print(f"  ingest on {scheduler} (run {attempt + 1}): {result}")
            shutil.rmtree(out, ignore_errors=True)
    results["slice"] = runs

    if not args.skip_full:
        out = args.work / "full"
        shutil.rmtree(out, ignore_errors=True)
        command = [*me, "--data", str(args.data), "--child", "ingest", "--scheduler",
                   args.full_scheduler, "--out", str(out), str(args.data)]  # fmt: skip
        full = measure(command)
        full["meets_10_min"] = float(full["wall_seconds"]) <= TARGET_SECONDS  # type: ignore[arg-type]
        full["meets_4_gib"] = float(full["peak_rss_gib"]) * 1024**3 <= TARGET_BYTES  # type: ignore[arg-type]
        results["full"] = {"scheduler": args.full_scheduler, "csv_bytes": total_bytes, **full}
        print(
            f"full set ({total_bytes / 1e9:.2f} GB synthetic CSV) on {args.full_scheduler}: {full}"
        )
        shutil.rmtree(out, ignore_errors=True)
    if args.delete_data:
        shutil.rmtree(args.data, ignore_errors=True)
    report = REPO / "var" / "bench" / f"ingest_scale-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(results, indent=2))
    print(f"written {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

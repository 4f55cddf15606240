"""Derive the demo generator's flow-profile table from the real CICIoT2023 rows, and measure it.

The table (``iotad/demo/data/flow_profiles.json``) holds statistics of the genuine rows in
``../shared/data/ciciot2023`` — per label, clusters with per-feature marginals and a low-rank
Gaussian copula — never rows (see ``iotad/demo/profile_fit.py``). Flows sampled from it are
synthetic.

    python scripts/derive_demo_profiles.py                 # write the table
    python scripts/derive_demo_profiles.py --check         # exit 1 if the shipped table differs
    python scripts/derive_demo_profiles.py --check \\
        --fidelity models/task8/rf-compact/<version> --reference-forest
    python scripts/derive_demo_profiles.py --out /tmp/big.json --levels 41 --rank 6 \\
        --max-clusters 32 --digits 6 --fidelity models/task8/rf-compact/<version>   # bigger

``--fidelity BUNDLE`` generates ``--rows`` flows per label and scores them as the worker would
(the bundle's classes, the worker's default confidence threshold): the share of flows that raise
an alert of the intended category (for BenignTraffic: that raise none). ``--reference-forest``
also trains a Random Forest on every real row (100 trees, class_weight=balanced) and reports the
share of generated flows it puts in the intended label and category.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

from iotad.demo.fidelity import bundle_fidelity, fidelity_table, intended_category
from iotad.demo.profile_fit import FitConfig, derive_table, real_rows, table_differences
from iotad.demo.profiles import PROFILE_RESOURCE, FlowProfiles, load_table
from iotad.machine import describe_machine

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ciciot2023"
DEFAULT_OUT = REPO / "iotad" / "demo" / "data" / PROFILE_RESOURCE


def reference_forest(
    x: np.ndarray, y: np.ndarray, profiles: FlowProfiles, rows: int, seed: int
) -> None:
    """Print the share of generated flows a forest trained on all real rows puts right."""
    from sklearn.ensemble import RandomForestClassifier

    started = time.monotonic()
    forest = RandomForestClassifier(
        n_estimators=100, class_weight="balanced", n_jobs=-1, random_state=seed
    ).fit(x, y)
    print(f"\nreference forest on {len(x):,} real rows ({time.monotonic() - started:.0f}s fit)")
    print("| label | exact label | category |\n|---|---:|---:|")
    rng = np.random.default_rng(seed)
    for label in profiles.labels:
        predicted = forest.predict(profiles.sample(label, rows, rng))
        exact = float(np.mean(predicted == label))
        same = float(np.mean([intended_category(p) == intended_category(label) for p in predicted]))
        print(f"| {label} | {exact:.0%} | {same:.0%} |")


def main(argv: list[str] | None = None) -> int:
    """Derive (or check) the table; optionally measure its fidelity."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the table goes")
    parser.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    parser.add_argument("--fidelity", type=Path, nargs="*", default=[], help="bundles to score")
    parser.add_argument("--reference-forest", action="store_true")
    parser.add_argument("--rows", type=int, default=2000, help="generated flows per label")
    parser.add_argument("--seed", type=int, default=42)
    defaults = FitConfig()
    for name in ("max_clusters", "levels", "rank", "digits"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name),
            help=f"table size knob (default {getattr(defaults, name)}; the shipped table uses "
            "the defaults)",
        )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not (args.data / "per_class").is_dir():
        print(f"no real rows at {args.data} (expected ../shared beside the repository)")
        return 2
    started = time.monotonic()
    x, y, files = real_rows(args.data)
    cfg = FitConfig(
        seed=args.seed,
        max_clusters=args.max_clusters,
        levels=args.levels,
        rank=args.rank,
        digits=args.digits,
    )
    table = derive_table(x, y, {"files": files, "rows": len(x)}, cfg)
    print(f"derived {len(table.labels)} label profiles from {len(x):,} real rows "
          f"in {time.monotonic() - started:.1f}s")  # fmt: skip
    if args.check:
        problems = table_differences(load_table(args.out), table)
        for problem in problems:
            print(f"differs: {problem}")
        print("shipped table matches" if not problems else f"{args.out} is out of date")
        if problems:
            return 1
    else:
        args.out.write_text(table.model_dump_json(exclude_none=True) + "\n")
        print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    profiles = FlowProfiles(table)
    if args.fidelity or args.reference_forest:
        print(describe_machine())
        print("SYNTHETIC flows from the profile table, scored offline")
    for bundle in args.fidelity:
        from iotad.settings import StreamSettings
        from iotad.stream.loader import load_model

        # Offline scoring of a bundle the user names: its signature does not matter here.
        loaded = load_model(bundle, StreamSettings(allow_unsigned_bundles=True))
        rows = bundle_fidelity(profiles, loaded.serving, profiles.labels, rows=args.rows)
        print(f"\n{loaded.manifest.reference} (threshold {loaded.serving.policy.threshold:g}), "
              f"{args.rows:,} generated flows per label")  # fmt: skip
        print(fidelity_table(rows))
        mean = sum(row.share for row in rows) / len(rows)
        print(f"mean share detected over the {len(rows)} labels: {mean:.1%}")
    if args.reference_forest:
        reference_forest(x, y, profiles, args.rows, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

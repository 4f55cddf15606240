"""How long the two-command experience takes: first install, `make demo` cold and warm.

    python bench/demo_timing.py                   # warm: `make demo` twice in this checkout
    python bench/demo_timing.py --cold DIR        # a fresh clone in DIR, nothing cached
    python bench/demo_timing.py --cold DIR --from-pypi --install-only   # the install alone,
                                                  # ignoring a local wheel directory

Cold: ``git clone`` of this repository's HEAD into DIR (which must not exist), a new virtual
environment (``make install``, with an empty pip cache: every wheel downloaded from PyPI), an
empty broker jar cache (``XDG_CACHE_HOME``) and an empty Maven repository
(``IOTAD_BROKER__MAVEN_REPO``: the broker's jars come from Maven Central), then ``make demo``
twice. Warm: ``make demo`` twice where the install is up to date. Each ``make demo`` runs
``iotad demo`` with its defaults (60 s of feed at 1,000 flows/s); the phases come from the run's
``summary.json``. Only ``python3``, ``make``, ``git``, Java 17 and Maven are needed.

pip may be configured with a local wheel directory (``PIP_FIND_LINKS``, e.g. on the development
machine); ``--from-pypi`` removes it from the environment so every wheel is downloaded.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from machine import describe

REPO = Path(__file__).resolve().parents[1]


def timed(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    """Seconds ``command`` took (its output goes to ``log``); exits when it fails."""
    started = time.monotonic()
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        code = subprocess.run(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    took = time.monotonic() - started
    if code != 0:
        sys.exit(f"`{' '.join(command)}` failed with {code} after {took:.0f}s; see {log}")
    return took


def last_summary(checkout: Path) -> dict[str, object]:
    """The newest demo run's summary.json."""
    runs = (checkout / "var" / "demo").glob("*/summary.json")
    newest = max(runs, key=lambda p: p.stat().st_mtime)
    return dict(orjson.loads(newest.read_bytes()))


def report(label: str, seconds: float, checkout: Path | None = None) -> None:
    """One result line, with the demo's own phases when there are some."""
    line = f"{label}: {seconds:.1f}s"
    if checkout is not None:
        summary = last_summary(checkout)
        phases, flows = summary["phases_s"], summary["flows"]
        assert isinstance(phases, dict) and isinstance(flows, dict)
        line += " (" + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()) + ")"
        line += f"; ok={summary['ok']}, lost={flows['lost']}"
    print(line, flush=True)


def main() -> int:
    """Time the install and two demo runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=Path, help="clone into this new folder, nothing cached")
    parser.add_argument("--from-pypi", action="store_true", help="ignore PIP_FIND_LINKS")
    parser.add_argument("--install-only", action="store_true", help="with --cold: no demo runs")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTAD_")}
    if args.from_pypi:
        env.pop("PIP_FIND_LINKS", None)
    else:
        print(f"pip find-links: {env.get('PIP_FIND_LINKS', 'none')}", flush=True)
    print(describe(), flush=True)
    if args.cold is None:
        checkout, log = REPO, Path(tempfile.mkstemp(prefix="demo-timing-", suffix=".log")[1])
        timed(["make", "install"], checkout, env, log)  # up to date: not part of the timing
    else:
        checkout = args.cold.resolve()
        if checkout.exists():
            sys.exit(f"{checkout} exists; give a new folder")
        caches = Path(tempfile.mkdtemp(prefix="iotad-cold-caches-"))
        env.update(
            PIP_CACHE_DIR=str(caches / "pip"),
            XDG_CACHE_HOME=str(caches / "xdg"),
            IOTAD_BROKER__MAVEN_REPO=str(caches / "m2"),
        )
        log = caches / "timing.log"
        timed(["git", "clone", "--quiet", str(REPO), str(checkout)], REPO, env, log)
        source = "from PyPI" if args.from_pypi else "from PyPI or the find-links directory"
        report(f"first install (make install: new venv, empty pip cache, wheels {source})",
               timed(["make", "install"], checkout, env, log))  # fmt: skip
        if args.install_only:
            return 0
    print(f"log: {log}", flush=True)
    first = "make demo, cold caches (broker jars from Maven Central)" if args.cold else "make demo"
    report(first, timed(["make", "demo"], checkout, env, log), checkout)
    report("make demo, warm (second run)", timed(["make", "demo"], checkout, env, log), checkout)
    print(describe(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

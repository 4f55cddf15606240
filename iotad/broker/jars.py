"""The broker's jars: resolved once from Maven Central with ``mvn``, then reused.

``mvn -q -B dependency:copy-dependencies`` runs on the packaged ``pom.xml`` and copies Kafka's
server jars and their runtime dependencies into ``<home>/<kafka_version>/libs``. The copy goes to a
temporary folder first; it is renamed into place and a marker file is written only after Maven
succeeded, so an interrupted download never looks complete. A file lock serialises concurrent
callers (several test sessions may start at once).
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import orjson

from iotad.errors import BrokerError
from iotad.settings import BrokerSettings

logger = logging.getLogger(__name__)

MARKER_NAME = "libs.complete.json"
_OUTPUT_TAIL_LINES = 25


def marker_path(settings: BrokerSettings) -> Path:
    """The file that says the jar folder is complete."""
    return settings.libs_dir.parent / MARKER_NAME


def jars_complete(settings: BrokerSettings) -> bool:
    """True when a previous resolution finished and its jars are still there."""
    return marker_path(settings).is_file() and _kafka_jar(settings).is_file()


def resolve_jars(settings: BrokerSettings) -> Path:
    """The folder of the broker's jars, resolving them with Maven if needed.

    Returns
    -------
    Path
        ``settings.libs_dir``, holding ``kafka_<scala>-<version>.jar`` and its dependencies.

    Raises
    ------
    BrokerError
        when ``mvn`` is not installed or Maven cannot resolve the jars (with the tail of its
        output).
    """
    if jars_complete(settings):
        return settings.libs_dir
    mvn = require_tool("mvn", "install Maven 3 (e.g. `apt-get install maven`)")
    settings.libs_dir.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(settings.libs_dir.parent / ".resolve.lock"):
        if jars_complete(settings):  # another process finished while we waited
            return settings.libs_dir
        _copy_dependencies(mvn, settings)
    return settings.libs_dir


def require_tool(name: str, install_hint: str) -> str:
    """The full path of an executable on PATH, or a :class:`BrokerError` saying how to get it."""
    found = shutil.which(name)
    if found is None:
        raise BrokerError(f"`{name}` is not on PATH", hint=install_hint)
    return found


def _kafka_jar(settings: BrokerSettings) -> Path:
    return settings.libs_dir / f"kafka_{settings.scala_version}-{settings.kafka_version}.jar"


def _copy_dependencies(mvn: str, settings: BrokerSettings) -> None:
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix="libs.partial.", dir=settings.libs_dir.parent))
    try:
        with resources.as_file(resources.files("iotad.broker") / "pom.xml") as pom:
            command = [
                mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                f"-Dkafka.version={settings.kafka_version}",
                f"-Dscala.binary.version={settings.scala_version}",
            ]  # fmt: skip
            if settings.maven_repo is not None:
                command.append(f"-Dmaven.repo.local={settings.maven_repo}")
            logger.info(
                "resolving Kafka %s jars with Maven into %s",
                settings.kafka_version,
                settings.libs_dir,
            )
            result = subprocess.run(
                command, capture_output=True, text=True, check=False, cwd=staging
            )
        if result.returncode != 0 or not (staging / _kafka_jar(settings).name).is_file():
            raise BrokerError(
                f"Maven could not resolve the Kafka {settings.kafka_version} jars "
                f"(exit code {result.returncode}):\n{output_tail(result.stdout + result.stderr)}",
                hint="check that Maven Central is reachable and that broker.kafka_version and "
                "broker.scala_version name a published Kafka release",
            )
        if settings.libs_dir.exists():
            shutil.rmtree(settings.libs_dir)
        staging.rename(settings.libs_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    jars = sorted(p.name for p in settings.libs_dir.glob("*.jar"))
    marker_path(settings).write_bytes(
        orjson.dumps(
            {"kafka_version": settings.kafka_version, "jars": jars, "resolved_at": time.time()},
            option=orjson.OPT_INDENT_2,
        )
    )
    logger.info("resolved %d jars in %.1fs", len(jars), time.monotonic() - started)


def output_tail(text: str, lines: int = _OUTPUT_TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of a tool's output, for error messages."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:]) if kept else "(no output)"


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = [
    "MARKER_NAME",
    "jars_complete",
    "marker_path",
    "output_tail",
    "require_tool",
    "resolve_jars",
]

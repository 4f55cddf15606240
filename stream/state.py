"""Which bundle is promoted, on disk: ``<stream.state_dir>/active_bundle.json``.

``iotad models promote`` records the bundle it promotes here (the previous one goes onto a
history stack) and ``iotad models rollback`` pops that stack. A worker starts with the recorded
bundle, so a restart keeps serving what was last promoted. Writes are atomic (temporary file,
then rename) and serialised with a lock file, so two operators cannot interleave an update.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iotad.errors import ArtifactError, ConfigError
from iotad.schemas.messages import EpochMillis, ModelRef

STATE_FILE = "active_bundle.json"
_LOCK_FILE = ".active_bundle.lock"


class BundleRecord(BaseModel):
    """A promoted bundle: where it is and what it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    model: ModelRef
    promoted_at_ms: EpochMillis


class ActiveBundleState(BaseModel):
    """The promoted bundle and the ones it replaced (most recent last)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    active: BundleRecord | None = None
    history: list[BundleRecord] = Field(default_factory=list)


class ActiveBundleStore:
    """Reads and updates the state file under ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / STATE_FILE

    def read(self) -> ActiveBundleState:
        """The recorded state (empty when nothing was promoted yet).

        Raises
        ------
        ArtifactError
            if the file exists but is not a valid state file.
        """
        try:
            return ActiveBundleState.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return ActiveBundleState()
        except ValidationError as exc:
            raise ArtifactError(
                f"{self.path} is not a valid bundle state file: {exc.errors()[0]['msg']}",
                hint="fix or delete it, then promote a bundle again",
            ) from exc

    def promote(self, record: BundleRecord) -> ActiveBundleState:
        """Make ``record`` the active bundle; the previous one goes onto the history."""
        with self._locked():
            state = self.read()
            history = list(state.history)
            if state.active is not None:
                history.append(state.active)
            updated = ActiveBundleState(active=record, history=history)
            self._write(updated)
        return updated

    def rollback(self) -> BundleRecord:
        """Make the previously promoted bundle active again; returns it.

        Raises
        ------
        ConfigError
            if there is no earlier bundle to return to.
        """
        with self._locked():
            state = self.read()
            if not state.history:
                raise ConfigError(
                    f"nothing to roll back to: {self.path} records no earlier bundle",
                    hint="promote a bundle with `iotad models promote PATH`",
                )
            history = list(state.history)
            previous = history.pop()
            self._write(ActiveBundleState(active=previous, history=history))
        return previous

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with locked_state(self.state_dir, _LOCK_FILE):
            yield

    def _write(self, state: ActiveBundleState) -> None:
        write_state(self.path, state)


@contextmanager
def locked_state(state_dir: Path, lock_file: str) -> Iterator[None]:
    """Hold an exclusive lock on ``state_dir/lock_file`` (created with the directory)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / lock_file).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_state(path: Path, state: BaseModel) -> None:
    """Write ``state`` as JSON to ``path`` atomically (temporary file, fsync, rename)."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(state.model_dump_json(indent=2).encode())
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


__all__ = [
    "STATE_FILE",
    "ActiveBundleState",
    "ActiveBundleStore",
    "BundleRecord",
    "locked_state",
    "write_state",
]

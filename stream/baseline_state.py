"""Which baseline each gateway uses, on disk: ``<stream.state_dir>/baselines.json``.

``iotad models promote`` of a baseline bundle, ``iotad baseline learn --promote`` and the worker's
online learning record the gateway's bundle here (the one it replaces goes onto that gateway's
history). A worker starts with every recorded baseline, so a restart keeps them. Writes are
atomic and serialised with a lock file, like :mod:`iotad.stream.state`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iotad.errors import ArtifactError
from iotad.stream.state import BundleRecord, locked_state, write_state

STATE_FILE = "baselines.json"
_LOCK_FILE = ".baselines.lock"


class GatewayBaselines(BaseModel):
    """The active baseline of one gateway and the ones it replaced (most recent last)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    active: BundleRecord
    history: list[BundleRecord] = Field(default_factory=list)


class BaselineState(BaseModel):
    """Every gateway's baseline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gateways: dict[str, GatewayBaselines] = Field(default_factory=dict)


class BaselineStore:
    """Reads and updates the baseline state file under ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / STATE_FILE

    def read(self) -> BaselineState:
        """The recorded state (empty when no baseline was recorded yet).

        Raises
        ------
        ArtifactError
            if the file exists but is not a valid state file.
        """
        try:
            return BaselineState.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return BaselineState()
        except ValidationError as exc:
            raise ArtifactError(
                f"{self.path} is not a valid baseline state file: {exc.errors()[0]['msg']}",
                hint="fix or delete it, then promote the gateways' baselines again",
            ) from exc

    def record(self, gateway_id: str, record: BundleRecord) -> BaselineState:
        """Make ``record`` the baseline of ``gateway_id``."""
        with self._locked():
            state = self.read()
            gateways = dict(state.gateways)
            previous = gateways.get(gateway_id)
            history = [] if previous is None else [*previous.history, previous.active]
            gateways[gateway_id] = GatewayBaselines(active=record, history=history)
            updated = BaselineState(gateways=gateways)
            self._write(updated)
        return updated

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with locked_state(self.state_dir, _LOCK_FILE):
            yield

    def _write(self, state: BaselineState) -> None:
        write_state(self.path, state)


__all__ = ["STATE_FILE", "BaselineState", "BaselineStore", "GatewayBaselines"]

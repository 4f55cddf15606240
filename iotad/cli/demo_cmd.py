"""`iotad demo`: not registered yet (this module is filled in by the work on it)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add nothing yet: the command appears once it really works."""
    del app

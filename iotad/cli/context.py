"""What every subcommand receives: the console and a way to load settings once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from iotad.console import Console
from iotad.logs import configure_logging
from iotad.settings import Settings, load_settings


@dataclass
class CliContext:
    """Shared state of one ``iotad`` invocation (``ctx.obj``)."""

    console: Console = field(default_factory=Console)
    config_files: tuple[Path, ...] = ()
    show_traceback: bool = False
    log_level: str | None = None

    def settings(self, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Load settings (files < environment < ``overrides`` from CLI flags) and set up logging."""
        settings = load_settings(self.config_files, _without_none(overrides or {}))
        configure_logging(self.log_level or settings.log_level, settings.log_format)
        return settings


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop flags the user did not give (None), keeping nested sections that remain."""
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            nested = _without_none(value)
            if nested:
                kept[key] = nested
        elif value is not None:
            kept[key] = value
    return kept


def cli_context(ctx: typer.Context) -> CliContext:
    """The :class:`CliContext` of the running command."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):
        raise RuntimeError("iotad commands must run under iotad.cli.main")
    return obj


__all__ = ["CliContext", "cli_context"]

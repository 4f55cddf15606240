"""Logging during a demo run: everything to ``demo.log`` in the run dir, warnings and errors also
to the terminal (through the console, so they do not tear the live view)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from iotad.console import Console


class ConsoleHandler(logging.Handler):
    """Shows warnings and errors through the demo's console."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.WARNING)
        self._console = console

    def emit(self, record: logging.LogRecord) -> None:
        """Print the record's message as a warning or an error."""
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            self._console.error(message)
        else:
            self._console.warn(message)


@contextmanager
def demo_logging(path: Path, console: Console) -> Iterator[None]:
    """Route the root logger to ``path`` and the console for the block, then restore it."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root.handlers[:] = [to_file, ConsoleHandler(console)]
    root.setLevel(min(saved[1], logging.INFO) if saved[1] else logging.INFO)
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        to_file.close()


__all__ = ["ConsoleHandler", "demo_logging"]

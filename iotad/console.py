"""Terminal I/O behind one injectable object, so commands can be tested by capturing it.

Results go to ``out`` (stdout); progress, status and errors go to ``err`` (stderr). Rich progress
bars are shown only when stderr is a terminal; otherwise a silent no-op progress is used, so logs
and CI output stay clean.

Text given to :meth:`Console.status`, :meth:`Console.warn` and :meth:`Console.error` is shown
as it is: a path like ``[/old]`` in a message is never read as Rich markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from rich.console import Console as RichConsole
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressTracker(Protocol):
    """What long-running code reports progress to."""

    def add_task(self, description: str, total: float | None = None) -> TaskID: ...

    def advance(self, task: TaskID, amount: float = 1.0) -> None: ...

    def update(
        self, task: TaskID, *, description: str | None = None, total: float | None = None
    ) -> None: ...


class NullProgress:
    """Progress that shows nothing (stderr is not a terminal)."""

    def __init__(self) -> None:
        self._next = 0

    def add_task(self, description: str, total: float | None = None) -> TaskID:
        self._next += 1
        return TaskID(self._next)

    def advance(self, task: TaskID, amount: float = 1.0) -> None:
        return None

    def update(
        self, task: TaskID, *, description: str | None = None, total: float | None = None
    ) -> None:
        return None


class RichProgress:
    """Adapter from :class:`rich.progress.Progress` to :class:`ProgressTracker`."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def add_task(self, description: str, total: float | None = None) -> TaskID:
        return self._progress.add_task(description, total=total)

    def advance(self, task: TaskID, amount: float = 1.0) -> None:
        self._progress.advance(task, amount)

    def update(
        self, task: TaskID, *, description: str | None = None, total: float | None = None
    ) -> None:
        self._progress.update(task, description=description, total=total)


@dataclass
class Console:
    """The terminal a command talks to."""

    out: RichConsole = field(default_factory=lambda: RichConsole(soft_wrap=True))
    err: RichConsole = field(default_factory=lambda: RichConsole(stderr=True, soft_wrap=True))

    @property
    def interactive(self) -> bool:
        """True when stderr is a terminal (progress bars and live views are shown)."""
        return self.err.is_terminal

    @contextmanager
    def progress(self) -> Iterator[ProgressTracker]:
        """A progress display for the duration of the block (a no-op when not interactive)."""
        if not self.interactive:
            yield NullProgress()
            return
        bar = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=False,
        )
        with bar:
            yield RichProgress(bar)

    def status(self, message: str) -> None:
        """A one-line status message on stderr (its text is shown as it is, never as markup)."""
        self.err.print(f"[cyan]•[/] {escape(message)}")

    def warn(self, message: str) -> None:
        """A warning on stderr."""
        self.err.print(f"[yellow]warning:[/] {escape(message)}")

    def error(self, message: str, hint: str | None = None) -> None:
        """An error, and what the user can do about it, on stderr."""
        self.err.print(f"[bold red]error:[/] {escape(message)}")
        if hint:
            self.err.print(f"[dim]hint:[/] {escape(hint)}")


__all__ = ["Console", "NullProgress", "ProgressTracker", "RichProgress"]

"""The one exception tree of iotad and the process exit codes it maps to.

Errors a user can fix carry a ``hint``; the CLI prints message and hint without a traceback
(``--traceback`` shows it). Everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``iotad`` command."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3
    DATA = 4
    MODEL = 5
    BROKER = 6
    ARTIFACT = 7
    INTERRUPTED = 130


class IotadError(Exception):
    """Base of every error iotad raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(IotadError):
    """A setting is missing, malformed or contradicts another."""

    exit_code = ExitCode.CONFIG


class DataError(IotadError):
    """Input data cannot be read or has no usable rows."""

    exit_code = ExitCode.DATA


class SchemaError(IotadError):
    """A message or manifest does not match its schema."""

    exit_code = ExitCode.DATA


class ArtifactError(IotadError):
    """A pipeline artifact is missing, incomplete or inconsistent."""

    exit_code = ExitCode.ARTIFACT


class ModelLoadError(IotadError):
    """A model bundle failed verification and must not serve."""

    exit_code = ExitCode.MODEL


class BrokerError(IotadError):
    """The Kafka broker cannot be started, stopped or reached."""

    exit_code = ExitCode.BROKER


__all__ = [
    "ArtifactError",
    "BrokerError",
    "ConfigError",
    "DataError",
    "ExitCode",
    "IotadError",
    "ModelLoadError",
    "SchemaError",
]

"""Entry point of ``iotad``: builds the app from one table and maps errors to exit codes.

Each subcommand lives in its own module with a ``register(app)`` function; heavy libraries
(TensorFlow, Dask, onnxruntime, faust) are imported inside the commands, never at module level, so
``iotad --help`` stays fast and the stream install never needs the offline extras.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from iotad import __version__
from iotad.cli.context import CliContext
from iotad.console import Console
from iotad.errors import ExitCode, IotadError

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "iotad.cli.demo_cmd",
    "iotad.cli.kafka_cmd",
    "iotad.cli.replay_cmd",
    "iotad.cli.capture_cmd",
    "iotad.cli.alerts_cmd",
    "iotad.cli.stream_cmd",
    "iotad.cli.models_cmd",
    "iotad.cli.baseline_cmd",
    "iotad.cli.offline_cmd",
)


def build_app() -> typer.Typer:
    """The typer application with every subcommand registered."""
    app = typer.Typer(
        name="iotad",
        help="Streaming anomaly detection for healthcare IoT gateways (CICIoT2023).",
        no_args_is_help=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback(invoke_without_command=True)
    def root(
        ctx: typer.Context,
        config: Annotated[
            list[Path] | None,
            typer.Option("--config", "-c", help="TOML config file (repeatable; later wins)."),
        ] = None,
        log_level: Annotated[
            str | None, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")
        ] = None,
        show_traceback: Annotated[
            bool, typer.Option("--traceback", help="Show the Python traceback on errors.")
        ] = False,
        version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
    ) -> None:
        obj = ctx.ensure_object(CliContext)
        obj.config_files = tuple(config or ())
        obj.show_traceback = show_traceback
        obj.log_level = log_level
        if version:
            obj.console.out.print(f"iotad {__version__}")
            raise typer.Exit()
        if ctx.invoked_subcommand is None:
            obj.console.out.print(ctx.get_help())
            raise typer.Exit(int(ExitCode.USAGE))

    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(app)
    return app


def main(argv: list[str] | None = None, console: Console | None = None) -> ExitCode:
    """Run ``iotad`` with ``argv`` and return its exit code (never raises for user errors)."""
    context = CliContext(console=console or Console())
    command = typer.main.get_command(build_app())
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args=args, prog_name="iotad", standalone_mode=False, obj=context)
    except IotadError as exc:
        context.console.error(exc.message, exc.hint)
        if context.show_traceback:
            context.console.err.print(traceback.format_exc(), markup=False, highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return ExitCode(exc.exit_code) if exc.exit_code in set(ExitCode) else ExitCode.ERROR
    except typer.TyperException as exc:  # usage errors: bad option, missing argument…
        exc.show(file=context.console.err.file)  # type: ignore[attr-defined]
        return ExitCode.USAGE
    except (typer.Abort, KeyboardInterrupt):
        context.console.error("interrupted")
        return ExitCode.INTERRUPTED
    if isinstance(result, int) and result in set(ExitCode):
        return ExitCode(result)
    return ExitCode.OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(int(main()))


__all__ = ["SUBCOMMAND_MODULES", "build_app", "main", "run"]

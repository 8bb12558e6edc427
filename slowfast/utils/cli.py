"""What every script under tools/ shares: ``--cfg FILE [KEY VALUE ...]``, config loading and
one-line ``error: ...`` messages with exit status 2 (no traceback) for bad inputs.

Scripts keep their ``python tools/X.py`` form: each starts with the same line putting its
checkout first on ``sys.path`` (so the checkout's package wins over another install), then
imports this module.
"""
import argparse
import functools
import sys
from collections.abc import Callable, Sequence

from fvcore.common.config import CfgNode

from slowfast.config import load_config

EXIT_BAD_INPUT = 2
OVERRIDES_HELP = "KEY VALUE pairs overriding the config, e.g. SOLVER.BASE_LR 0.05"


def parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser that prints the script's docstring as written."""
    return argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def add_config_arguments(
    parser: argparse.ArgumentParser, overrides_help: str = OVERRIDES_HELP
) -> None:
    """``--cfg FILE`` (required, as ``args.cfg_file``) and trailing ``KEY VALUE`` overrides."""
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="YAML config file")
    parser.add_argument("overrides", nargs="*", help=overrides_help)


def at_least_one(parser: argparse.ArgumentParser, args: argparse.Namespace, *names: str) -> None:
    """Stop with a usage error when option ``--name`` (attribute ``name``) is set and below 1."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")


def load(args: argparse.Namespace, extra_overrides: Sequence[str] = ()) -> CfgNode:
    """The validated, frozen config of ``args.cfg_file`` with ``args.overrides`` and then
    ``extra_overrides`` applied; raises ConfigError."""
    return load_config(args.cfg_file, list(args.overrides) + list(extra_overrides))


def error(message: object) -> int:
    """Print ``error: message`` on stderr; the exit status for bad inputs."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def one_line_errors(
    *errors: type[BaseException],
) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate a script's ``main``: ``errors`` become one ``error:`` line and exit status 2."""

    def decorate(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def guarded(*args, **kwargs) -> int:
            try:
                return main(*args, **kwargs)
            except errors as err:
                return error(err)

        return guarded

    return decorate

"""What every script under tools/ shares: ``--cfg FILE [KEY VALUE ...]``, config loading,
one-line ``error: ...`` messages with exit status 2 (no traceback) for bad inputs, and one line
with exit status 130 for Ctrl-C.

Scripts keep their ``python tools/X.py`` form: each starts with the same line putting its
checkout first on ``sys.path`` (so the checkout's package wins over another install), then
imports this module.
"""
import argparse
import functools
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from fvcore.common.config import CfgNode

from slowfast.config import load_config

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a command stopped by Ctrl-C
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


_sigint_received = False


def sigint_received() -> bool:
    """Whether a Ctrl-C reached the innermost entered SigintWatch (for code below the script that
    must tell an error caused by that Ctrl-C from a failure)."""
    return _sigint_received


class SigintWatch:
    """While entered, Ctrl-C (SIGINT) raises KeyboardInterrupt as Python's own handler does and is
    remembered in ``received``: the same Ctrl-C also stops child processes (loader workers), and
    the error that causes on the way out is then the interruption, not a failure. A
    KeyboardInterrupt that Python cannot raise (inside a finaliser or fork handler) prints no
    "Exception ignored" traceback. Does nothing where SIGINT is ignored (a background job) or
    handled otherwise, and outside the main thread."""

    def __init__(self) -> None:
        self.received = False

    def __enter__(self) -> "SigintWatch":
        global _sigint_received
        _sigint_received = False
        self._active = (threading.current_thread() is threading.main_thread()  # where handlers can be set
                        and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        if self._active:
            signal.signal(signal.SIGINT, self._handle)
            self._unraisable_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, *exc_info) -> None:
        if self._active:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            sys.unraisablehook = self._unraisable_hook

    def _handle(self, signum, frame) -> None:
        global _sigint_received
        self.received = _sigint_received = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            self._unraisable_hook(unraisable)


def interrupted(message: str) -> int:
    """Print ``message`` (what a Ctrl-C stopped and how to go on) on stderr; the exit status for it."""
    print(message, file=sys.stderr)
    return EXIT_INTERRUPTED


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

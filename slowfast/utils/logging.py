"""Run logging: console + ``stdout.log``, ``json_stats`` lines, ``metrics.jsonl``, TensorBoard.

Rank 0 logs INFO to stdout and appends to ``OUTPUT_DIR/stdout.log``; other ranks print only
warnings and errors. Statistics are logged as PySlowFast's ``json_stats: {...}`` lines (which its
plot tools parse) and, at epoch level, appended to ``OUTPUT_DIR/metrics.jsonl``.
"""
from __future__ import annotations

import decimal
import logging
import numbers
import os
import sys
from pathlib import Path
from typing import Any, Mapping

import simplejson

STDOUT_LOG = "stdout.log"
METRICS_FILE = "metrics.jsonl"
_DATE_FORMAT = "%m/%d %H:%M:%S"
_FORMAT = "[%(asctime)s][%(levelname)s] %(module)s:%(lineno)d: %(message)s"
# Marks the handlers setup_logging owns, so a second call replaces them instead of adding more.
_OWNED = "_slowfast_handler"

logger = logging.getLogger(__name__)


def setup_logging(output_dir: str | os.PathLike | None, rank: int = 0) -> None:
    """Configure the root logger for this process; calling again replaces the earlier setup."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OWNED, False)]:
        root.removeHandler(handler)
        handler.close()
    is_main = rank == 0
    level = logging.INFO if is_main else logging.WARNING
    root.setLevel(level)
    prefix = "" if is_main else f"[rank {rank}]"
    formatter = logging.Formatter(prefix + _FORMAT, datefmt=_DATE_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if is_main and output_dir is not None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(Path(output_dir) / STDOUT_LOG, mode="a"))
    for handler in handlers:
        handler.setLevel(level)
        handler.setFormatter(formatter)
        setattr(handler, _OWNED, True)
        root.addHandler(handler)


def log_to_file(message: str, error: BaseException | None = None) -> None:
    """Append an ERROR record (with ``error``'s traceback when given) to ``stdout.log`` only.

    For what the caller prints on stderr itself (a run's last ``error:`` line, a traceback), so
    the log of a failed run says why it failed without the console showing it twice. A no-op
    where setup_logging opened no file (before it, or on ranks other than 0).
    """
    files = [h for h in logging.getLogger().handlers
             if getattr(h, _OWNED, False) and isinstance(h, logging.FileHandler)]
    if not files:
        return
    path, line, function, _ = logger.findCaller(stacklevel=2)
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    record = logger.makeRecord(logger.name, logging.ERROR, path, line, message, None, exc_info, function)
    for handler in files:
        handler.handle(record)


def get_logger(name: str) -> logging.Logger:
    """The logger for a module (pass ``__name__``); it writes through setup_logging's handlers."""
    return logging.getLogger(name)


def log_json_stats(stats: Mapping[str, Any], output_dir: str | os.PathLike | None = None) -> str:
    """Log ``json_stats: {...}`` (floats to 5 decimals); append to metrics.jsonl if output_dir."""
    line = simplejson.dumps(_rounded(stats), sort_keys=True, use_decimal=True)
    logger.info("json_stats: %s", line)
    if output_dir is not None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(output_dir) / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    return line


def _rounded(value: Any) -> Any:
    """Floats become 5-decimal Decimals (PySlowFast's format); numpy/torch scalars become Python."""
    if isinstance(value, Mapping):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()  # 0-d torch tensor or numpy scalar
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return decimal.Decimal(f"{float(value):.5f}")
    return value


class MetricsWriter:
    """Scalars to TensorBoard when enabled; the SummaryWriter is created on first use."""

    def __init__(
        self,
        output_dir: str | os.PathLike | None,
        dataset: str,
        enabled: bool = True,
        log_dir: str = "",
    ) -> None:
        """``log_dir`` is a folder under output_dir, "" meaning ``runs-<dataset>`` (PySlowFast).

        ``output_dir=None`` (e.g. on ranks other than 0) disables writing, like enabled=False.
        """
        self.enabled = enabled and output_dir is not None
        self.log_dir = Path(output_dir) / (log_dir or f"runs-{dataset}") if output_dir else None
        self._writer = None

    def add_scalars(self, scalars: Mapping[str, float], step: int) -> None:
        """Write each ``name: value`` at ``step`` (a no-op when disabled)."""
        if not self.enabled:
            return
        writer = self._get_writer()
        for name, value in scalars.items():
            writer.add_scalar(name, float(value), global_step=step)

    def flush(self) -> None:
        """Push pending events to disk."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file; a later add_scalars opens a new one."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _get_writer(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: only if used

            self._writer = SummaryWriter(log_dir=str(self.log_dir))
        return self._writer

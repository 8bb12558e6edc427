"""Progress bars for long loops a person waits on (video preparation, dataset generation,
multi-view test); silent when stderr is not a terminal (logs, CI, SLURM output files)."""
import sys
from collections.abc import Iterable
from typing import TextIO

from tqdm import tqdm


def progress_bar(
    total: int | None, description: str, unit: str = "it", enabled: bool = True,
    stream: TextIO | None = None, iterable: Iterable | None = None,
) -> tqdm:
    """A tqdm bar on ``stream`` (default stderr), shown only when that stream is a terminal and
    ``enabled`` (e.g. on the main process only); use it as a context manager, call ``update()``,
    or iterate it when ``iterable`` is given."""
    stream = sys.stderr if stream is None else stream
    shown = enabled and _is_terminal(stream)
    return tqdm(iterable, total=total, desc=description, unit=unit, file=stream,
                disable=not shown, dynamic_ncols=True)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False

"""Count the host-device synchronisations a piece of code makes, by the line of ours that made them.

``torch.cuda.set_sync_debug_mode("warn")`` makes every synchronising CUDA call (``.item()``,
a device-to-host copy, ``nonzero``...) issue a warning. :class:`HostSyncRecorder` turns that
mode on, catches those warnings and attributes each one to the innermost stack frame inside
``root`` (the package by default), so a report says which of our lines stall the GPU's queue.
"""
import collections
import os
import traceback
import warnings
from dataclasses import dataclass
from typing import Optional

import torch

SYNC_WARNING = "called a synchronizing CUDA operation"
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class SyncSite:
    """Where a synchronisation came from: a file under the root, a line and its function."""

    path: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.function})"


def innermost_site(stack: list[traceback.FrameSummary], root: str) -> Optional[SyncSite]:
    """The last frame of ``stack`` whose file lies under ``root`` (path made relative to root)."""
    root = os.path.abspath(root) + os.sep
    for frame in reversed(stack):
        path = os.path.abspath(frame.filename)
        if path.startswith(root):
            return SyncSite(os.path.relpath(path, os.path.dirname(root.rstrip(os.sep))), frame.lineno or 0, frame.name)
    return None


class HostSyncRecorder:
    """Context manager counting sync warnings per :class:`SyncSite` (None: outside ``root``).

    On CUDA it sets the sync debug mode to "warn" for its duration; on a CPU-only machine the
    mode does nothing and only warnings raised by other means are counted.
    """

    def __init__(self, root: str = PACKAGE_ROOT) -> None:
        self.root = root
        self.counts: collections.Counter = collections.Counter()
        self._catcher: Optional[warnings.catch_warnings] = None
        self._previous_mode = 0
        self._show_other = warnings.showwarning

    def __enter__(self) -> "HostSyncRecorder":
        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("always")
        self._show_other = warnings.showwarning
        warnings.showwarning = self._record
        if torch.cuda.is_available():
            self._previous_mode = torch.cuda.get_sync_debug_mode()
            torch.cuda.set_sync_debug_mode("warn")
        return self

    def __exit__(self, *exc_info) -> None:
        if torch.cuda.is_available():
            torch.cuda.set_sync_debug_mode(self._previous_mode)
        assert self._catcher is not None
        self._catcher.__exit__(*exc_info)

    def _record(self, message, category, filename, lineno, file=None, line=None) -> None:
        if SYNC_WARNING not in str(message):
            self._show_other(message, category, filename, lineno, file, line)
            return
        self.counts[innermost_site(traceback.extract_stack()[:-1], self.root)] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

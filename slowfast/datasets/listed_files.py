"""Checking, once when a dataset list is read, that the files it lists exist.

A list whose paths are wrong (relative to another folder, say) otherwise fails deep inside the
loader, one replacement video at a time. Missing files up to DATA.MAX_FAILED_SHARE of the list
are only reported: training draws other videos in their place and val/test count them as
failed, as for any video that cannot be read. One ``os.path.exists`` per video.
"""
import logging
import os
from collections.abc import Iterable

from slowfast.datasets.errors import DataError

logger = logging.getLogger(__name__)

MISSING_SHOWN = 3


def check_listed_files(paths: Iterable[str], source: str, path_prefix: str, max_missing_share: float) -> None:
    """Raise DataError when every file of ``paths`` (one per video of the list file ``source``), or
    more than ``max_missing_share`` of them, is missing; log a warning when some are."""
    total, missing, shown = 0, 0, []
    for path in paths:
        total += 1
        if not os.path.exists(path):
            missing += 1
            if len(shown) < MISSING_SHOWN:
                shown.append(path)
    if not missing:
        return
    first = ", ".join(shown) + (", ..." if missing > len(shown) else "")
    what = f"{missing} of the {total} videos listed in {source} have no file"
    if missing < total and missing <= max_missing_share * total:
        logger.warning(f"{what} (first: {first}); training draws other videos in their place, "
                       "val/test count them as failed")
        return
    share = f", more than DATA.MAX_FAILED_SHARE {max_missing_share} allows" if missing < total else ""
    raise DataError(f"{what}{share} (first: {first}); {_path_hint(source, path_prefix)}")


def _path_hint(source: str, path_prefix: str) -> str:
    if path_prefix:
        return f"relative paths are joined to DATA.PATH_PREFIX '{path_prefix}': check it, or fix the paths"
    folder = os.path.dirname(os.path.abspath(source))
    return (f"relative paths are read from the list's folder {folder}: set DATA.PATH_PREFIX to the folder "
            "they are relative to, or fix the paths")

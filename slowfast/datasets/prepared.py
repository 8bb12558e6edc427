"""A folder written by tools/prepare_videos.py: which sizes each video has, and where each size lives.

The CSVs list each video's primary copy (the largest short side); a smaller short side ``S``
of ``videos/abc.mp4`` is ``videos/abc.sS.mp4`` beside it. ``prepared.json`` in the folder
says which short sides exist and how they were encoded.
"""
import json
import os
from dataclasses import dataclass
from typing import Optional

from slowfast.datasets.errors import DataError
from slowfast.utils.atomic import write_json_atomic

MANIFEST_NAME = "prepared.json"
MANIFEST_FORMAT = 1
_KEYS = ("format", "short_sides", "primary_short_side", "keyframe_interval", "crf")


def copy_path(primary_path: str, short_side: int) -> str:
    """Path of the ``short_side`` copy of the video whose primary copy is ``primary_path``:
    ``videos/abc.mp4`` -> ``videos/abc.s128.mp4`` (the primary itself has no suffix)."""
    stem, extension = os.path.splitext(primary_path)
    return f"{stem}.s{short_side}{extension}"


@dataclass(frozen=True)
class PreparedManifest:
    """``prepared.json``: the short sides written (ascending; the largest is the primary copy)
    and the x264 settings of every copy."""

    short_sides: tuple[int, ...]
    keyframe_interval: int
    crf: int

    def __post_init__(self) -> None:
        sides = self.short_sides
        if not sides or any(not _is_int(side) or side < 1 for side in sides) or list(sides) != sorted(set(sides)):
            raise ValueError(f"short_sides must be distinct positive integers in ascending order, got {sides}")
        if not _is_int(self.keyframe_interval) or self.keyframe_interval < 1:
            raise ValueError(f"keyframe_interval must be a positive integer, got {self.keyframe_interval!r}")
        if not _is_int(self.crf):
            raise ValueError(f"crf must be an integer, got {self.crf!r}")

    @property
    def primary_short_side(self) -> int:
        """Short side of the copy the CSVs list."""
        return self.short_sides[-1]

    def path_for(self, primary_path: str, short_side: int) -> str:
        """Where the ``short_side`` copy of the video listed as ``primary_path`` is."""
        if short_side not in self.short_sides:
            raise ValueError(f"no copy at short side {short_side}; this folder has {list(self.short_sides)}")
        return primary_path if short_side == self.primary_short_side else copy_path(primary_path, short_side)

    def to_json(self) -> dict:
        return {"format": MANIFEST_FORMAT, "short_sides": list(self.short_sides),
                "primary_short_side": self.primary_short_side, "keyframe_interval": self.keyframe_interval,
                "crf": self.crf}

    def write(self, folder: str) -> None:
        """Write ``folder/prepared.json`` (atomically)."""
        write_json_atomic(os.path.join(folder, MANIFEST_NAME), self.to_json())

    @classmethod
    def read(cls, folder: str) -> Optional["PreparedManifest"]:
        """The manifest of ``folder``; None when it has none (videos not prepared by the tool).
        Raises DataError naming the file when it is malformed or of another format."""
        path = os.path.join(folder, MANIFEST_NAME)
        try:
            with open(path, encoding="utf-8") as handle:
                content = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataError(f"'{path}' is not a readable JSON manifest ({error}); rerun tools/prepare_videos.py")
        return cls._from_json(path, content)

    @classmethod
    def _from_json(cls, path: str, content: object) -> "PreparedManifest":
        fix = "rerun tools/prepare_videos.py"
        if not isinstance(content, dict) or sorted(content) != sorted(_KEYS):
            keys = sorted(content) if isinstance(content, dict) else type(content).__name__
            raise DataError(f"'{path}' must hold exactly the keys {list(_KEYS)}, got {keys}; {fix}")
        if content["format"] != MANIFEST_FORMAT:
            raise DataError(f"'{path}' has format {content['format']!r}; this code reads format "
                            f"{MANIFEST_FORMAT}; {fix}")
        try:
            if not isinstance(content["short_sides"], list):
                raise ValueError(f"short_sides must be a list, got {content['short_sides']!r}")
            manifest = cls(tuple(content["short_sides"]), content["keyframe_interval"], content["crf"])
        except ValueError as error:
            raise DataError(f"'{path}': {error}; {fix}") from None
        if content["primary_short_side"] != manifest.primary_short_side:
            raise DataError(f"'{path}': primary_short_side {content['primary_short_side']!r} is not the largest "
                            f"of short_sides {list(manifest.short_sides)}; {fix}")
        return manifest


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

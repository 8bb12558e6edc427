"""Atomic file writes: write beside the target, then rename over it, so a reader (or a resumed
run) sees the old file or the whole new one, never half of one."""
import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path in ``path``'s folder (same extension, so writers that pick a
    format from it still work); rename it to ``path`` when the block succeeds, delete it if not."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    stem, extension = os.path.splitext(name)
    temporary = os.path.join(folder, f".{stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{extension}")
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_json_atomic(path: str | os.PathLike, content: Any) -> None:
    """Write ``content`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(content, indent=2) + "\n")

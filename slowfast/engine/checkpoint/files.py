"""Checkpoint files in PySlowFast's layout, written atomically and read without running code.

A checkpoint is ``OUTPUT_DIR/checkpoints/checkpoint_epoch_{epoch+1:05d}.pyth`` holding
``{"epoch", "model_state", "optimizer_state", "cfg", "trainer_state", "hooks"[, "rng_state"]}``;
``epoch`` is the 0-based index of the epoch just finished, ``trainer_state`` the loop's counters
and ``hooks`` each training hook's ``state_dict`` by hook name. Files are read with
``weights_only=True``, so a checkpoint can never run code.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from slowfast.utils.atomic import atomic_path
from slowfast.utils.distributed import unwrap
from slowfast.utils.logging import get_logger

logger = get_logger(__name__)

CHECKPOINT_SUBDIR = "checkpoints"
_NAME_PATTERN = re.compile(r"^checkpoint_epoch_(\d+)\.pyth$")


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable or does not fit the model."""


def checkpoint_dir(output_dir: str | os.PathLike) -> Path:
    """The folder holding a run's checkpoints: ``OUTPUT_DIR/checkpoints``."""
    return Path(output_dir) / CHECKPOINT_SUBDIR


def checkpoint_path(output_dir: str | os.PathLike, epoch: int) -> Path:
    """Path of the checkpoint written after 0-based ``epoch`` (PySlowFast numbers files from 1)."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0 (0-based index of the finished epoch), got {epoch}")
    return checkpoint_dir(output_dir) / f"checkpoint_epoch_{epoch + 1:05d}.pyth"


def list_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Checkpoints in ``OUTPUT_DIR/checkpoints`` ordered by the epoch number in their name."""
    folder = checkpoint_dir(output_dir)
    if not folder.is_dir():
        return []
    numbered = []
    for path in folder.iterdir():
        match = _NAME_PATTERN.match(path.name)
        if match and path.is_file():
            numbered.append((int(match.group(1)), path))
    return [path for _, path in sorted(numbered)]


def epoch_of_checkpoint(path: str | os.PathLike) -> int:
    """0-based epoch of an epoch checkpoint, from its name (``checkpoint_epoch_00003.pyth`` -> 2)."""
    match = _NAME_PATTERN.match(Path(path).name)
    if not match:
        raise ValueError(f"'{path}' is not named like checkpoint_epoch_<number>.pyth")
    return int(match.group(1)) - 1


def find_last_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    """The checkpoint with the highest epoch number, or None when there is none."""
    checkpoints = list_checkpoints(output_dir)
    return checkpoints[-1] if checkpoints else None



def save_checkpoint(
    output_dir: str | os.PathLike,
    epoch: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg_yaml: str,
    trainer_state: Mapping[str, Any],
    rng_state: Mapping[str, Any] | None = None,
    hooks: Mapping[str, Any] | None = None,
) -> Path:
    """Atomically write the checkpoint of finished epoch ``epoch``; the caller picks the rank."""
    if not isinstance(cfg_yaml, str):
        raise TypeError(f"cfg_yaml must be the YAML string of cfg.dump(), got {type(cfg_yaml)}")
    contents = checkpoint_contents(epoch, model, optimizer, cfg_yaml, trainer_state, rng_state, hooks)
    path = checkpoint_path(output_dir, epoch)
    write_checkpoint_file(contents, path)
    logger.info("Saved checkpoint %s", path)
    return path


def _check_plain(value: Any, where: str, tensors: bool = False) -> None:
    """Reject values that ``weights_only`` loading would refuse later: plain Python data (and
    tensors, with ``tensors``)."""
    if value is None or type(value) in (bool, int, float, str):  # numpy scalars would not load
        return
    if tensors and isinstance(value, torch.Tensor):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]", tensors)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has non-string key {key!r}; use str keys")
            _check_plain(item, f"{where}[{key!r}]", tensors)
        return
    part = "hook state" if tensors else "trainer_state"
    raise TypeError(
        f"{where} is a {type(value).__name__}; a checkpoint's {part} may only hold "
        f"{'tensors, ' if tensors else ''}None/bool/int/float/str and lists, tuples or str-keyed dicts of them"
    )


def write_checkpoint_file(contents: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Atomically write ``contents`` to ``path``; a failed write (full disk) leaves the old file intact."""
    path = Path(path)
    try:
        _atomic_torch_save(contents, path)
    except OSError as err:
        raise CheckpointError(
            f"cannot write checkpoint '{path}': {err.strerror or err}. Earlier checkpoints are "
            "intact; free space in OUTPUT_DIR (or set TRAIN.CHECKPOINT_KEEP) and resume"
        ) from err


def _atomic_torch_save(contents: Mapping[str, Any], path: Path) -> None:
    """Write beside ``path`` (an ordinary file: 0666 less the umask), fsync it, rename it over
    ``path`` and make the rename durable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        torch.save(contents, handle)
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX only: Windows cannot open a folder for fsync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)



def load_checkpoint_file(path: str | os.PathLike, mmap: bool = False) -> dict[str, Any]:
    """Read a checkpoint dict on CPU without executing code; CheckpointError when that fails.

    ``mmap`` maps the tensors instead of reading them, for a caller that needs only other keys.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist; check the path")
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError, ... here
        raise CheckpointError(
            f"cannot load checkpoint '{path}' safely (weights_only=True): "
            f"{_load_failure_reason(err)}. "
            "If it is truncated or corrupt, delete it (resume then uses the previous one); "
            "if it holds Python objects from a source you trust, re-save it as "
            "{'model_state': state_dict} with plain tensors."
        ) from err
    if not isinstance(contents, dict):
        raise CheckpointError(
            f"checkpoint '{path}' holds a {type(contents).__name__}, expected a dict "
            "({'model_state': ...} or a bare state_dict)"
        )
    return contents


def _load_failure_reason(err: Exception) -> str:
    """The informative line of torch.load's (long, multi-paragraph) error."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    unpickler = [line for line in lines if line.startswith("WeightsUnpickler error")]
    detail = unpickler[0].split(". Please use")[0] if unpickler else (lines[0] if lines else "")
    return f"{type(err).__name__}: {detail}"


def checkpoint_contents(
    epoch: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg_yaml: str,
    trainer_state: Mapping[str, Any],
    rng_state: Mapping[str, Any] | None,
    hooks: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What every checkpoint holds: epoch, model and optimizer state, config, trainer state, the
    hooks' states, RNG."""
    _check_plain(dict(trainer_state), "trainer_state")
    _check_plain(dict(hooks or {}), "hooks", tensors=True)
    contents: dict[str, Any] = {
        "epoch": int(epoch),
        "model_state": unwrap(model).state_dict(),
        "optimizer_state": optimizer.state_dict(),
        "cfg": cfg_yaml,
        "trainer_state": dict(trainer_state),
        "hooks": dict(hooks or {}),
    }
    if rng_state is not None:
        contents["rng_state"] = dict(rng_state)
    return contents

"""Resuming a run exactly: the mid-epoch "last" checkpoint, the choice of what to resume, pruning.

Besides the epoch checkpoints, the trainer writes ``checkpoints/checkpoint_last.pyth`` at most
every TRAIN.CHECKPOINT_MINUTES of wall clock. It holds the epoch in progress, ``next_batch`` (the
batches of that epoch already trained) and everything an epoch checkpoint holds (the hooks'
state then includes the epoch's running sums). Resume takes the most advanced readable
checkpoint among the last one and the epoch ones, after checking that it comes from the same run
(the same config up to the keys in ``RESUMABLE_KEY_PREFIXES``).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import yaml
from torch import nn

from slowfast.engine.checkpoint import files
from slowfast.engine.checkpoint.legacy import hook_states
from slowfast.engine.checkpoint.model_state import load_model_state
from slowfast.utils.logging import get_logger

logger = get_logger(__name__)

LAST_NAME = "checkpoint_last.pyth"
# Keys that may change between a run and its resumption: where things live, how often to log,
# evaluate or save, how many loader workers, and how long to train (extending MAX_EPOCH).
RESUMABLE_KEY_PREFIXES = (
    "OUTPUT_DIR", "DATA.PATH_TO_DATA_DIR", "DATA.PATH_PREFIX", "DATA_LOADER.", "TENSORBOARD.",
    "LOG_PERIOD", "LOG_MODEL_INFO", "TRAIN.ENABLE", "TRAIN.AUTO_RESUME", "TRAIN.EVAL_PERIOD",
    "TRAIN.CHECKPOINT_PERIOD", "TRAIN.CHECKPOINT_MINUTES", "TRAIN.CHECKPOINT_KEEP",
    "TRAIN.CHECKPOINT_FILE_PATH", "TRAIN.CHECKPOINT_REINIT_HEAD", "TEST.", "SOLVER.MAX_EPOCH", "NUM_GPUS",
    "SHARD_ID",
)
_MAX_DIFFERENCES_SHOWN = 8


def last_checkpoint_path(output_dir: str | os.PathLike) -> Path:
    """``OUTPUT_DIR/checkpoints/checkpoint_last.pyth``."""
    return files.checkpoint_dir(output_dir) / LAST_NAME


class CheckpointTimer:
    """Tells when ``minutes`` of wall clock have passed since the last save (never when 0)."""

    def __init__(self, minutes: float, clock: Callable[[], float] = time.monotonic) -> None:
        if minutes < 0:
            raise ValueError(f"TRAIN.CHECKPOINT_MINUTES must be >= 0 (0 = off), got {minutes}")
        self.seconds = minutes * 60.0
        self.clock = clock
        self.since = clock()

    def due(self) -> bool:
        return self.seconds > 0 and self.clock() - self.since >= self.seconds

    def reset(self) -> None:
        self.since = self.clock()


def save_last_checkpoint(
    output_dir: str | os.PathLike,
    epoch: int,
    next_batch: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg_yaml: str,
    trainer_state: Mapping[str, Any],
    rng_state: Mapping[str, Any] | None = None,
    hooks: Mapping[str, Any] | None = None,
) -> Path:
    """Atomically write the mid-epoch checkpoint: ``next_batch`` batches of 0-based ``epoch`` done."""
    contents = files.checkpoint_contents(epoch, model, optimizer, cfg_yaml, trainer_state, rng_state, hooks)
    contents.update(next_batch=int(next_batch))
    path = last_checkpoint_path(output_dir)
    files.write_checkpoint_file(contents, path)
    return path


def resume_latest(
    output_dir: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg_yaml: str,
) -> dict[str, Any] | None:
    """Load the most advanced readable checkpoint of this run; None when there is none.

    Returns ``{"epoch" (the epoch to run next), "start_batch", "trainer_state", "hooks" (each hook's
    state by name; read from the older layout too, see ``legacy.py``), "rng_state" (or None),
    "path", "cfg" (its YAML, or None)}``. Unreadable files are logged and skipped; a checkpoint of
    another run (different config) raises CheckpointError.
    """
    remove_torn_temporaries(output_dir)
    candidates = _candidates(output_dir)
    for (epoch, start_batch), path in candidates:
        try:
            contents = files.load_checkpoint_file(path)
            _require_keys(contents, path)
        except files.CheckpointError as err:
            logger.error("Skipping unreadable checkpoint %s: %s", path, err)
            continue
        check_same_run(contents.get("cfg"), cfg_yaml, path)
        if not _finite_weights(contents["model_state"]):
            logger.error("Skipping checkpoint %s: its weights hold NaN or infinite values", path)
            continue
        load_model_state(model, contents["model_state"], source=f"'{path}'")
        optimizer.load_state_dict(contents["optimizer_state"])
        logger.info("Resuming from %s at epoch %d, batch %d", path, epoch + 1, start_batch)
        return {
            "epoch": epoch, "start_batch": start_batch, "trainer_state": contents.get("trainer_state", {}),
            "hooks": hook_states(contents), "rng_state": contents.get("rng_state"),
            "path": path, "cfg": contents.get("cfg"),
        }
    if candidates:
        raise files.CheckpointError(
            f"no readable checkpoint with finite weights among {[p.name for _, p in candidates]} in "
            f"{files.checkpoint_dir(output_dir)}; move them away to start afresh"
        )
    return None


def check_resumable(output_dir: str | os.PathLike, cfg_yaml: str) -> None:
    """Raise CheckpointError when the checkpoint a resume would load comes from another run
    (check_same_run), reading only its config: a run calls it before it writes anything."""
    for _, path in _candidates(output_dir):
        try:
            saved = files.load_checkpoint_file(path, mmap=True).get("cfg")
        except files.CheckpointError:
            continue  # resume_latest reports it and tries the next one
        if isinstance(saved, str):
            check_same_run(saved, cfg_yaml, path)
        return


def _finite_weights(state: Mapping[str, Any]) -> bool:
    tensors = [t for t in state.values() if isinstance(t, torch.Tensor) and t.is_floating_point()]
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def newest_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    """The checkpoint a rerun would try first (the most advanced one), or None when there is none."""
    candidates = _candidates(output_dir)
    return candidates[0][1] if candidates else None


def remove_torn_temporaries(output_dir: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of saves that a killed process never finished (never read)."""
    folder = files.checkpoint_dir(output_dir)
    # ".NAME.<pid>-<hex>.tmp.pyth" is utils/atomic.py's name; ".NAME.pyth.<random>.tmp" is matched too, as an
    # OUTPUT_DIR written by an earlier release of this code can hold such files.
    patterns = (".checkpoint_*.tmp.pyth", ".checkpoint_*.pyth.*.tmp")
    torn = sorted({p for pattern in patterns for p in folder.glob(pattern)}) if folder.is_dir() else []
    for path in torn:
        path.unlink(missing_ok=True)
        logger.info("Deleted %s, left by an interrupted save", path)
    return torn


def _candidates(output_dir: str | os.PathLike) -> list[tuple[tuple[int, int], Path]]:
    """((epoch to run next, batch to start at), path) of every checkpoint, most advanced first.

    An epoch checkpoint's position comes from its name; the last checkpoint's is read from the
    file (a torn one sorts first and is skipped when loaded).
    """
    found = []
    for path in files.list_checkpoints(output_dir):
        found.append(((files.epoch_of_checkpoint(path) + 1, 0), path))
    last = last_checkpoint_path(output_dir)
    if last.is_file():
        found.append((_last_position(last), last))
    return sorted(found, key=lambda item: item[0], reverse=True)


def _last_position(path: Path) -> tuple[int, int]:
    """(epoch, next_batch) stored in the last checkpoint; a huge position when unreadable."""
    try:
        contents = files.load_checkpoint_file(path)
        return int(contents["epoch"]), int(contents["next_batch"])
    except (files.CheckpointError, KeyError, TypeError, ValueError):
        return (2**62, 0)


def _require_keys(contents: Mapping[str, Any], path: Path) -> None:
    absent = [k for k in ("epoch", "model_state", "optimizer_state") if k not in contents]
    if path.name == LAST_NAME:
        absent += [k for k in ("next_batch",) if k not in contents]
    if absent:
        raise files.CheckpointError(f"checkpoint '{path}' lacks {absent}; it is not a training checkpoint")


def check_same_run(saved_yaml: Any, current_yaml: str, path: Path) -> None:
    """Refuse a checkpoint whose config differs from ours outside ``RESUMABLE_KEY_PREFIXES``.

    Only keys both configs have are compared: a key on one side only (added or retired between the
    code versions that wrote the two) says nothing about the run.
    """
    if not isinstance(saved_yaml, str):
        logger.warning("Checkpoint %s stores no config; cannot check that it comes from this run", path)
        return
    saved, current = _flatten(yaml.safe_load(saved_yaml)), _flatten(yaml.safe_load(current_yaml))
    differences = [
        f"{key}: checkpoint {saved[key]!r}, now {current[key]!r}"
        for key in sorted(set(saved) & set(current))
        if not key.startswith(RESUMABLE_KEY_PREFIXES) and saved[key] != current[key]
    ]
    if differences:
        shown = "; ".join(differences[:_MAX_DIFFERENCES_SHOWN])
        more = len(differences) - _MAX_DIFFERENCES_SHOWN
        raise files.CheckpointError(
            f"OUTPUT_DIR holds checkpoint '{path}' of another run (config differs: {shown}"
            f"{f'; and {more} more' if more > 0 else ''}). Choose another OUTPUT_DIR, or move "
            f"{path.parent} away to start afresh"
        )


def saved_value(saved_yaml: Any, key: str) -> Any:
    """The value of dotted ``key`` in a checkpoint's config YAML (None when absent)."""
    if not isinstance(saved_yaml, str):
        return None
    return _flatten(yaml.safe_load(saved_yaml)).get(key)


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(node, dict):
        return {prefix: node}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat.update(_flatten(value, f"{prefix}{key}." if isinstance(value, dict) else f"{prefix}{key}"))
    return flat


def prune_epoch_checkpoints(output_dir: str | os.PathLike, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest epoch checkpoints (0 keeps all); returns the deleted."""
    if keep < 0:
        raise ValueError(f"TRAIN.CHECKPOINT_KEEP must be >= 0 (0 = keep all), got {keep}")
    checkpoints = files.list_checkpoints(output_dir)
    doomed = checkpoints[:-keep] if keep and len(checkpoints) > keep else []
    for path in doomed:
        path.unlink(missing_ok=True)
        logger.info("Deleted old checkpoint %s (TRAIN.CHECKPOINT_KEEP %d)", path, keep)
    return doomed

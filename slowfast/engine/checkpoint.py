"""Checkpoints in PySlowFast's layout, written atomically and loaded strictly.

A checkpoint is ``OUTPUT_DIR/checkpoints/checkpoint_epoch_{epoch+1:05d}.pyth`` holding
``{"epoch", "model_state", "optimizer_state", "cfg", "trainer_state"[, "scaler_state",
"rng_state"]}``; ``epoch`` is the 0-based index of the epoch just finished. Files are read with
``weights_only=True``, so a checkpoint can never run code, and model weights load strictly: only
keys under an explicit allow-list (the classifier when the class count differs) may be absent or
differ in shape.
"""
from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch
from torch import nn

logger = logging.getLogger(__name__)

CHECKPOINT_SUBDIR = "checkpoints"
HEAD_PREFIX = "head.projection."
_NAME_PATTERN = re.compile(r"^checkpoint_epoch_(\d+)\.pyth$")
_DDP_PREFIX = "module."
# A BatchNorm's step counter only matters with momentum=None; old model-zoo files lack it.
_OPTIONAL_SUFFIX = ".num_batches_tracked"
_MAX_KEYS_SHOWN = 12


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable or does not fit the model."""


@dataclass(frozen=True)
class LoadReport:
    """What a model-state load did: keys copied, keys left at their init, checkpoint keys unused."""

    loaded: tuple[str, ...]
    reinitialised: tuple[str, ...]
    ignored: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper (or the model itself)."""
    wrappers = (nn.parallel.DistributedDataParallel, nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


def save_checkpoint(
    output_dir: str | os.PathLike,
    epoch: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg_yaml: str,
    trainer_state: Mapping[str, Any],
    scaler: Any = None,
    rng_state: Mapping[str, Any] | None = None,
) -> Path:
    """Atomically write the checkpoint of finished epoch ``epoch``; the caller picks the rank."""
    _check_plain(dict(trainer_state), "trainer_state")
    if not isinstance(cfg_yaml, str):
        raise TypeError(f"cfg_yaml must be the YAML string of cfg.dump(), got {type(cfg_yaml)}")
    contents: dict[str, Any] = {
        "epoch": int(epoch),
        "model_state": unwrap_model(model).state_dict(),
        "optimizer_state": optimizer.state_dict(),
        "cfg": cfg_yaml,
        "trainer_state": dict(trainer_state),
    }
    if scaler is not None:
        contents["scaler_state"] = scaler.state_dict()
    if rng_state is not None:
        contents["rng_state"] = dict(rng_state)
    path = checkpoint_path(output_dir, epoch)
    write_checkpoint_file(contents, path)
    logger.info("Saved checkpoint %s", path)
    return path


def _check_plain(value: Any, where: str) -> None:
    """Reject values that ``weights_only`` loading would refuse later (only plain Python data)."""
    if value is None or type(value) in (bool, int, float, str):  # numpy scalars would not load
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has non-string key {key!r}; use str keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__name__}; a checkpoint's trainer_state may only hold "
        "None/bool/int/float/str and lists, tuples or str-keyed dicts of them"
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
    """Write to a temporary file in the same folder, fsync it, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; give the file the mode open() would (0666 less the umask).
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            torch.save(contents, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_folder(path.parent)


def _current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX only: Windows cannot open a folder for fsync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# RNG state (plain tensors and ints, so weights_only loading accepts it)
# ---------------------------------------------------------------------------------------------


def capture_rng_state() -> dict[str, Any]:
    """The global Python, NumPy, torch (and CUDA) RNG states, in a checkpoint-safe form."""
    name, keys, position, has_gauss, cached_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached_gauss),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`capture_rng_state` captured (CUDA only when both sides have it)."""
    random.setstate(_as_tuples(state["python"]))
    name, keys, position, has_gauss, cached_gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuples(value: Any) -> Any:
    """random.setstate needs tuples where a round trip may have produced lists."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def load_checkpoint_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint dict on CPU without executing code; CheckpointError when that fails."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist; check the path")
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
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


def load_model_state(
    model: nn.Module,
    state: Mapping[str, Any],
    allow_missing_prefixes: Iterable[str] = (),
    source: str = "checkpoint",
) -> LoadReport:
    """Copy ``state`` into ``model`` strictly; only keys under the allowed prefixes may differ."""
    allowed = tuple(allow_missing_prefixes)
    target = unwrap_model(model)
    model_state = target.state_dict()
    state = _strip_ddp_prefix(state)

    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    mismatched = [
        k for k in model_state if k in state and _shape(state[k]) != tuple(model_state[k].shape)
    ]
    optional = [k for k in missing if k.endswith(_OPTIONAL_SUFFIX)]
    mismatched_shapes = {
        k: f"{k} (checkpoint {_shape(state[k])}, model {tuple(model_state[k].shape)})"
        for k in mismatched
    }
    errors = _strictness_errors(missing, unexpected, mismatched_shapes, allowed, optional)
    if errors:
        raise CheckpointError(
            f"{source} does not match the model ({type(target).__name__}): {'; '.join(errors)}. "
            "Check that the model config (MODEL.ARCH, RESNET.DEPTH, MODEL.NUM_CLASSES, ...) "
            "matches the config the checkpoint was trained with."
        )
    left_at_init = set(missing) | set(mismatched)
    reinitialised = [k for k in model_state if k in left_at_init]
    to_load = {k: v for k, v in state.items() if k in model_state and k not in left_at_init}
    target.load_state_dict(to_load, strict=False)
    _log_reinitialised(allowed, mismatched, missing, optional, state, model_state)
    return LoadReport(
        loaded=tuple(to_load), reinitialised=tuple(reinitialised), ignored=tuple(unexpected)
    )


def _strip_ddp_prefix(state: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the ``module.`` prefix DistributedDataParallel adds to every key."""
    return {(k[len(_DDP_PREFIX):] if k.startswith(_DDP_PREFIX) else k): v for k, v in state.items()}


def _shape(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else None


def _strictness_errors(missing, unexpected, mismatched_shapes, allowed, optional) -> list[str]:
    """One message per kind of disagreement outside the allowed prefixes."""
    errors = []
    bad_missing = [k for k in missing if not k.startswith(allowed) and k not in optional]
    bad_unexpected = [k for k in unexpected if not k.startswith(allowed)]
    bad_mismatched = [d for k, d in mismatched_shapes.items() if not k.startswith(allowed)]
    if bad_missing:
        errors.append(f"missing keys {_shorten(bad_missing)}")
    if bad_unexpected:
        errors.append(f"unexpected keys {_shorten(bad_unexpected)}")
    if bad_mismatched:
        errors.append(f"shape mismatches {_shorten(bad_mismatched)}")
    return errors


def _shorten(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_KEYS_SHOWN])
    more = len(keys) - _MAX_KEYS_SHOWN
    return f"[{shown}{f', ... and {more} more' if more > 0 else ''}]"


def _log_reinitialised(allowed, mismatched, missing, optional, state, model_state) -> None:
    """One line per allowed prefix whose weights stay at their init, saying why."""
    for prefix in allowed:
        keys = [k for k in mismatched + missing if k.startswith(prefix) and k not in optional]
        if not keys:
            continue
        logger.info("%s re-initialised: %s", prefix.rstrip("."), _why(keys, state, model_state))
    if optional:
        logger.info("%d BatchNorm num_batches_tracked counters absent from checkpoint; left at 0",
                    len(optional))


def _why(keys: list[str], state, model_state) -> str:
    """Explain a re-initialisation: a class-count change when only dim 0 differs."""
    shapes = [(_shape(state[k]) if k in state else None, tuple(model_state[k].shape)) for k in keys]
    absent = [k for k, (saved, _) in zip(keys, shapes) if saved is None]
    if absent:
        return f"absent from checkpoint: {_shorten(absent)}"
    only_dim0_differs = all(len(s) == len(m) and s[1:] == m[1:] for s, m in shapes)
    saved_classes = {s[0] for s, _ in shapes}
    model_classes = {m[0] for _, m in shapes}
    if only_dim0_differs and len(saved_classes) == 1 and len(model_classes) == 1:
        return f"checkpoint has {saved_classes.pop()} classes, model {model_classes.pop()}"
    return "; ".join(f"{k}: checkpoint {s} vs model {m}" for k, (s, m) in zip(keys, shapes))


def load_pretrained(
    path: str | os.PathLike, model: nn.Module, reset_head_if_classes_differ: bool = True
) -> LoadReport:
    """Initialise ``model`` from a ``.pyth`` ({"model_state": ...}) or a bare state_dict file."""
    contents = load_checkpoint_file(path)
    if "model_state" in contents:
        state = contents["model_state"]
    elif contents and all(isinstance(v, torch.Tensor) for v in contents.values()):
        state = contents
    else:
        raise CheckpointError(
            f"checkpoint '{path}' has no 'model_state' and is not a bare state_dict "
            f"(top-level keys: {_shorten(sorted(map(str, contents)))})"
        )
    allowed = (HEAD_PREFIX,) if reset_head_if_classes_differ else ()
    report = load_model_state(model, state, allow_missing_prefixes=allowed, source=f"'{path}'")
    logger.info("Loaded %d tensors from %s", len(report.loaded), path)
    return report


def resume(
    output_dir: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: Any = None,
) -> dict[str, Any] | None:
    """Load the newest readable checkpoint into model/optimizer(/scaler); None if there is none.

    Returns ``{"epoch", "trainer_state", "rng_state" (or None), "path"}``. An unreadable newest
    file (torn write, corruption) is logged and skipped in favour of the previous one.
    """
    checkpoints = list_checkpoints(output_dir)
    for path in reversed(checkpoints):
        try:
            contents = _read_resumable(path)
        except CheckpointError as err:
            logger.error("Skipping unreadable checkpoint %s: %s", path, err)
            continue
        load_model_state(model, contents["model_state"], source=f"'{path}'")
        optimizer.load_state_dict(contents["optimizer_state"])
        _load_scaler(scaler, contents, path)
        logger.info("Resumed from %s (finished epoch %d)", path, contents["epoch"])
        return {
            "epoch": int(contents["epoch"]),
            "trainer_state": contents.get("trainer_state", {}),
            "rng_state": contents.get("rng_state"),
            "path": path,
        }
    if checkpoints:
        raise CheckpointError(
            f"no readable checkpoint among {[p.name for p in checkpoints]} in "
            f"{checkpoint_dir(output_dir)}; move them away to start afresh"
        )
    return None


def _read_resumable(path: Path) -> dict[str, Any]:
    contents = load_checkpoint_file(path)
    absent = [k for k in ("epoch", "model_state", "optimizer_state") if k not in contents]
    if absent:
        raise CheckpointError(
            f"checkpoint '{path}' lacks {absent}; it is not a training checkpoint"
        )
    return contents


def _load_scaler(scaler: Any, contents: Mapping[str, Any], path: Path) -> None:
    if scaler is None:
        return
    if "scaler_state" in contents:
        scaler.load_state_dict(contents["scaler_state"])
    else:
        logger.warning("Checkpoint %s has no scaler_state; the AMP scaler starts afresh", path)

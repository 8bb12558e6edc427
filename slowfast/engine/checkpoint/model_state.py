"""Loading model weights strictly: only keys under an explicit allow-list (the classifier when
the class count differs) may be absent or differ in shape."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from slowfast.engine.checkpoint.files import CheckpointError, load_checkpoint_file
from slowfast.utils.distributed import unwrap
from slowfast.utils.logging import get_logger

logger = get_logger(__name__)

HEAD_PREFIX = "head.projection."
_DDP_PREFIX = "module."
# A BatchNorm's step counter only matters with momentum=None; Caffe2 model-zoo weights have none.
_OPTIONAL_SUFFIX = ".num_batches_tracked"
_MAX_KEYS_SHOWN = 12


@dataclass(frozen=True)
class LoadReport:
    """What a model-state load did: keys copied, keys left at their init, checkpoint keys unused."""

    loaded: tuple[str, ...]
    reinitialised: tuple[str, ...]
    ignored: tuple[str, ...]



def load_model_state(
    model: nn.Module,
    state: Mapping[str, Any],
    allow_missing_prefixes: Iterable[str] = (),
    source: str = "checkpoint",
    reinitialise_prefixes: Iterable[str] = (),
) -> LoadReport:
    """Copy ``state`` into ``model`` strictly; only keys under the allowed prefixes may differ.

    Keys under ``reinitialise_prefixes`` are not copied (the model keeps its initialisation)."""
    skipped = tuple(reinitialise_prefixes)
    allowed = tuple(dict.fromkeys((*allow_missing_prefixes, *skipped)))  # a prefix named twice logs once
    target = unwrap(model)
    model_state = target.state_dict()
    state = _strip_ddp_prefix(state)
    if skipped:
        state = {k: v for k, v in state.items() if not k.startswith(skipped)}

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
    _log_reinitialised(allowed, skipped, mismatched, missing, optional, state, model_state)
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


def _log_reinitialised(allowed, skipped, mismatched, missing, optional, state, model_state) -> None:
    """One line per allowed prefix whose weights stay at their init, saying why."""
    for prefix in allowed:
        keys = [k for k in mismatched + missing if k.startswith(prefix) and k not in optional]
        if not keys:
            continue
        why = "not loaded, as asked" if prefix in skipped else _why(keys, state, model_state)
        logger.info("%s re-initialised: %s", prefix.rstrip("."), why)
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
    path: str | os.PathLike, model: nn.Module, reset_head_if_classes_differ: bool = True,
    reinit_head: bool = False,
) -> LoadReport:
    """Initialise ``model`` from a ``.pyth`` ({"model_state": ...}) or a bare state_dict file;
    with ``reinit_head`` the classifier keeps its initialisation whatever the checkpoint holds."""
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
    report = load_model_state(model, state, allow_missing_prefixes=allowed, source=f"'{path}'",
                              reinitialise_prefixes=(HEAD_PREFIX,) if reinit_head else ())
    logger.info("Loaded %d tensors from %s", len(report.loaded), path)
    return report

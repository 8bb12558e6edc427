"""Caffe2 model-zoo ``.pkl`` weights (``{"blobs": {name: ndarray}}``) read without running code, and 2D->3D inflation.

The pickle goes through an unpickler that admits only numpy arrays, dtypes and plain
containers; any other global (``os.system``, ``builtins.eval``, a class) is refused before it
can run. Blob names are converted with PySlowFast's rules (``res2_0_branch2a_bn_s`` ->
``s2.pathway0_res0.branch2.a_bn.weight``, ``t_`` = fast pathway, ``pred`` = the classifier).
"""
from __future__ import annotations

import logging
import os
import pickle
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from slowfast.engine import checkpoint as ckpt
from slowfast.engine.checkpoint import CheckpointError
from slowfast.utils.distributed import unwrap

logger = logging.getLogger(__name__)

# The globals a pickle of numpy arrays needs (numpy 1.x and 2.x module names), plus containers.
_ADMITTED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("collections", "OrderedDict"),
}
_IGNORED_BLOBS = re.compile(r"(^lr$|^model_iter$|_momentum$|^momentum)")
_BN_SUFFIXES = {"_bn_s": "weight", "_bn_b": "bias", "_bn_rm": "running_mean", "_bn_riv": "running_var"}
_PLAIN_SUFFIXES = {"_w": "weight", "_b": "bias"}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the globals in ``_ADMITTED_GLOBALS``; anything else could execute code."""

    def __init__(self, handle, path: Path):
        super().__init__(handle, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ADMITTED_GLOBALS:
            return super().find_class(module, name)
        raise CheckpointError(
            f"refusing to load '{self.path}': the pickle asks for {module}.{name}, which could execute "
            "code; a Caffe2 model-zoo file holds only numpy arrays. Do not use files from untrusted sources"
        )


def read_caffe2_blobs(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The numeric arrays of a Caffe2 ``.pkl`` (``{"blobs": {...}}`` or a bare name -> array dict)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Caffe2 checkpoint '{path}' does not exist; check the path")
    try:
        with path.open("rb") as handle:
            contents = _NumpyOnlyUnpickler(handle, path).load()
    except CheckpointError:
        raise
    except Exception as err:  # truncated or not a pickle at all
        raise CheckpointError(f"cannot read Caffe2 checkpoint '{path}': {type(err).__name__}: {err}") from err
    blobs = contents.get("blobs", contents) if isinstance(contents, dict) else None
    if not isinstance(blobs, dict):
        raise CheckpointError(f"'{path}' holds a {type(contents).__name__}, expected {{'blobs': {{name: array}}}}")
    arrays = {}
    for name, value in blobs.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiub":
            raise CheckpointError(f"'{path}' blob {name!r} is a {type(value).__name__}, not a numeric array")
        arrays[str(name)] = value
    return arrays


def caffe2_to_pytorch_name(name: str) -> str | None:
    """PySlowFast's parameter name for a Caffe2 blob; None for solver blobs (lr, momentum, iteration)."""
    if _IGNORED_BLOBS.search(name):
        return None
    base, param, is_bn = _split_suffix(name)
    if base is None:
        return name
    pathway = 0
    if base.startswith("t_"):
        pathway, base = 1, base[2:]
    module = _module_name(base, pathway, is_bn)
    return f"{module}.{param}" if module else name


def _split_suffix(name: str) -> tuple[str | None, str | None, bool]:
    for suffix, param in _BN_SUFFIXES.items():
        if name.endswith(suffix):
            return name[: -len(suffix)], param, True
    for suffix, param in _PLAIN_SUFFIXES.items():
        if name.endswith(suffix):
            return name[: -len(suffix)], param, False
    return None, None, False


def _module_name(base: str, pathway: int, is_bn: bool) -> str | None:
    """The module path of a blob's base name; None when no rule applies (reported as unexpected)."""
    if base in ("conv1", "res_conv1"):
        return f"s1.pathway{pathway}_stem.{'bn' if is_bn else 'conv'}"
    if base == "pool1_subsample" and pathway == 1:
        return "s1_fuse." + ("bn" if is_bn else "conv_f2s")
    if base == "pred" and not is_bn:
        return "head.projection"
    lateral = re.fullmatch(r"res(\d+)_(\d+)_branch2c_bn_subsample", base)
    if lateral and pathway == 1:
        return f"s{lateral.group(1)}_fuse." + ("bn" if is_bn else "conv_f2s")
    block = re.fullmatch(r"res(\d+)_(\d+)_branch(1|2[abc])", base)
    if block:
        stage, index, branch = block.groups()
        prefix = f"s{stage}.pathway{pathway}_res{index}"
        if branch == "1":
            return f"{prefix}.branch1" + ("_bn" if is_bn else "")
        return f"{prefix}.branch2.{branch[1]}" + ("_bn" if is_bn else "")
    nonlocal_block = re.fullmatch(r"nonlocal_conv(\d+)_(\d+)(?:_(theta|phi|g|out))?", base)
    if nonlocal_block and pathway == 0:
        stage, index, conv = nonlocal_block.groups()
        prefix = f"s{stage}.pathway0_nonlocal{index}"
        if is_bn and conv is None:
            return f"{prefix}.bn"
        if not is_bn and conv is not None:
            return f"{prefix}.conv_{conv}"
    return None


def caffe2_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A Caffe2 ``.pkl`` as a PySlowFast-named state dict of tensors (solver blobs dropped)."""
    state = {}
    for name, array in read_caffe2_blobs(path).items():
        converted = caffe2_to_pytorch_name(name)
        if converted is not None:
            state[converted] = torch.from_numpy(np.ascontiguousarray(array))
    return state


def inflate_state(
    state: Mapping[str, torch.Tensor], model_state: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """2D image weights for a 3D model: a [O, I, h, w] conv becomes [O, I, T, h, w] repeated over T / T.

    Dividing by T keeps a clip of identical frames giving the 2D network's response (I3D).
    Other tensors, and names absent from the model, pass unchanged (the load reports them).
    """
    inflated = dict(state)
    for name, value in state.items():
        target = model_state.get(name)
        if target is None or value.dim() != 4 or target.dim() != 5:
            continue
        if tuple(value.shape[:2]) + tuple(value.shape[2:]) != tuple(target.shape[:2]) + tuple(target.shape[3:]):
            continue
        frames = target.shape[2]
        inflated[name] = value.unsqueeze(2).repeat(1, 1, frames, 1, 1) / frames
        logger.info("inflated %s from %s to %s", name, tuple(value.shape), tuple(inflated[name].shape))
    return inflated


def load_pretrained_weights(
    path: str | os.PathLike,
    model: torch.nn.Module,
    checkpoint_type: str = "pytorch",
    inflate: bool = False,
    reset_head_if_classes_differ: bool = True,
    reinit_head: bool = False,
) -> ckpt.LoadReport:
    """Initialise ``model`` from a ``.pyth`` or Caffe2 ``.pkl`` file, optionally inflating 2D weights.

    Strict like :func:`checkpoint.load_model_state`, except that the classifier may differ (its
    class count) when ``reset_head_if_classes_differ``, and is then left at its initialisation;
    with ``reinit_head`` it is left at its initialisation whatever the checkpoint holds.
    """
    if checkpoint_type not in ("pytorch", "caffe2"):
        raise CheckpointError(f"CHECKPOINT_TYPE must be 'pytorch' or 'caffe2', got {checkpoint_type!r}")
    if checkpoint_type == "pytorch" and not inflate:
        return ckpt.load_pretrained(path, model, reset_head_if_classes_differ, reinit_head)
    if checkpoint_type == "caffe2":
        state = caffe2_state_dict(path)
    else:
        contents = ckpt.load_checkpoint_file(path)
        state = contents.get("model_state", contents)
    if inflate:
        state = inflate_state(state, unwrap(model).state_dict())
    allowed = (ckpt.HEAD_PREFIX,) if reset_head_if_classes_differ else ()
    report = ckpt.load_model_state(model, state, allow_missing_prefixes=allowed, source=f"'{path}'",
                                   reinitialise_prefixes=(ckpt.HEAD_PREFIX,) if reinit_head else ())
    logger.info("Loaded %d tensors from %s (%s%s)", len(report.loaded), path, checkpoint_type,
                ", inflated" if inflate else "")
    return report

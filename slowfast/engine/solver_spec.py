"""The solver's section of the config, read and checked once: ``solver_spec(cfg) -> SolverSpec``.

How the trainer updates the weights: the optimizer's values (SOLVER.*, BN.WEIGHT_DECAY), the loss
and the head's activation (MODEL.LOSS_FUNC, MODEL.HEAD_ACT), and how a step runs (TRAIN.MIXED_PRECISION,
CHANNELS_LAST, COMPILE, NON_FINITE_LOSS). Every rule on these keys lives here; the LR curve (SOLVER.BASE_LR,
LR_POLICY, STEPS, LRS, MAX_EPOCH, warmup) is the schedule's (``multigrid/spec.py``).
"""
from dataclasses import dataclass

import torch
from fvcore.common.config import CfgNode

from slowfast.engine.losses import LOSS_FUNCS
from slowfast.utils.checks import one_of

OPTIMIZING_METHODS = ("sgd",)
HEAD_ACTS = ("softmax", "sigmoid")
NON_FINITE_LOSS_POLICIES = ("stop", "skip")


@dataclass(frozen=True)
class SolverSpec:
    """What the optimizer, the loss and each training step need, in checked plain values; field
    comments name the keys."""

    optimizing_method: str  # SOLVER.OPTIMIZING_METHOD
    momentum: float  # SOLVER.MOMENTUM
    dampening: float  # SOLVER.DAMPENING
    nesterov: bool  # SOLVER.NESTEROV
    weight_decay: float  # SOLVER.WEIGHT_DECAY
    bn_weight_decay: float  # BN.WEIGHT_DECAY
    loss_func: str  # MODEL.LOSS_FUNC
    head_act: str  # MODEL.HEAD_ACT
    mixed_precision: bool  # TRAIN.MIXED_PRECISION
    channels_last: bool  # TRAIN.CHANNELS_LAST
    compile: bool  # TRAIN.COMPILE
    non_finite_loss: str  # TRAIN.NON_FINITE_LOSS

    @property
    def skip_non_finite(self) -> bool:
        """Whether a step whose loss is not finite is skipped (TRAIN.NON_FINITE_LOSS skip) rather than
        stopping the run."""
        return self.non_finite_loss == "skip"

    @property
    def memory_format(self) -> torch.memory_format:
        """Layout of the model's weights and inputs: channels_last_3d with TRAIN.CHANNELS_LAST."""
        return torch.channels_last_3d if self.channels_last else torch.contiguous_format


def solver_spec(cfg: CfgNode) -> SolverSpec:
    """The solver's keys, each rule checked once; ConfigError naming the key for the first bad value."""
    one_of(cfg.MODEL.LOSS_FUNC, tuple(LOSS_FUNCS), "MODEL.LOSS_FUNC")
    one_of(cfg.MODEL.HEAD_ACT, HEAD_ACTS, "MODEL.HEAD_ACT")
    one_of(cfg.SOLVER.OPTIMIZING_METHOD, OPTIMIZING_METHODS, "SOLVER.OPTIMIZING_METHOD")
    one_of(cfg.TRAIN.NON_FINITE_LOSS, NON_FINITE_LOSS_POLICIES, "TRAIN.NON_FINITE_LOSS")
    return SolverSpec(
        optimizing_method=cfg.SOLVER.OPTIMIZING_METHOD,
        momentum=cfg.SOLVER.MOMENTUM,
        dampening=cfg.SOLVER.DAMPENING,
        nesterov=cfg.SOLVER.NESTEROV,
        weight_decay=cfg.SOLVER.WEIGHT_DECAY,
        bn_weight_decay=cfg.BN.WEIGHT_DECAY,
        loss_func=cfg.MODEL.LOSS_FUNC,
        head_act=cfg.MODEL.HEAD_ACT,
        mixed_precision=cfg.TRAIN.MIXED_PRECISION,
        channels_last=cfg.TRAIN.CHANNELS_LAST,
        compile=cfg.TRAIN.COMPILE,
        non_finite_loss=cfg.TRAIN.NON_FINITE_LOSS,
    )

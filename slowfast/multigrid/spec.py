"""The plain config values a schedule is built from, validated once with key-naming errors."""
from __future__ import annotations

from dataclasses import dataclass

from slowfast.utils.bn_groups import BNGroups, bn_groups
from slowfast.utils.checks import jitter_scales, one_of, positive_int, require

STEP_POLICY = "steps_with_relative_lrs"
COSINE_POLICY = "cosine"
LR_POLICIES = (STEP_POLICY, COSINE_POLICY)
# MULTIGRID.BN_GROUPING: every BN statistic over BN_BASE_SIZE clips, or over as many values as
# BN_BASE_SIZE full-shape clips (the group grows with the shape's batch).
BN_GROUPINGS = ("clips", "values")


@dataclass(frozen=True)
class ScheduleSpec:
    """Everything ``make_schedule`` needs, in config units (epochs, frames, pixels, clips).

    Field names follow the config keys: num_frames = DATA.NUM_FRAMES, crop_size =
    DATA.TRAIN_CROP_SIZE, batch_size = TRAIN.BATCH_SIZE (global), steps/lrs = SOLVER.STEPS/LRS,
    long/short_cycle(_factors), epoch_factor, eval_freq, bn_base_size, bn_grouping = MULTIGRID.*.
    """

    num_frames: int
    crop_size: int
    sampling_rate: int
    jitter_scales: tuple[int, int]
    batch_size: int
    eval_period: int
    checkpoint_period: int
    max_epoch: int
    steps: tuple[int, ...]
    lrs: tuple[float, ...]
    lr_policy: str
    base_lr: float
    cosine_end_lr: float
    cosine_after_warmup: bool
    warmup_epochs: float
    warmup_start_lr: float
    long_cycle: bool
    short_cycle: bool
    long_cycle_factors: tuple[tuple[float, float], ...]
    short_cycle_factors: tuple[float, ...]
    epoch_factor: float
    eval_freq: int
    bn_base_size: int
    bn_grouping: str = "clips"
    jitter_scaling: str = "min"

    def __post_init__(self) -> None:
        _check_positive_ints(self)
        one_of(self.bn_grouping, BN_GROUPINGS, "MULTIGRID.BN_GROUPING")
        jitter_scales(self.jitter_scales)
        one_of(self.jitter_scaling, JITTER_SCALINGS, "MULTIGRID.JITTER_SCALING")
        _check_solver(self)
        if self.long_cycle or self.short_cycle:
            _check_multigrid(self)

    @property
    def bn_groups(self) -> BNGroups:
        """The run's BN group policy (``bn_groups``: multigrid groups, else the whole batch)."""
        return bn_groups(self.long_cycle or self.short_cycle, self.bn_base_size, self.bn_grouping,
                         self.batch_size)


def _check_positive_ints(spec: ScheduleSpec) -> None:
    """Sizes, periods and counts must be positive integers."""
    keys = {
        "DATA.NUM_FRAMES": spec.num_frames,
        "DATA.TRAIN_CROP_SIZE": spec.crop_size,
        "DATA.SAMPLING_RATE": spec.sampling_rate,
        "TRAIN.BATCH_SIZE": spec.batch_size,
        "TRAIN.EVAL_PERIOD": spec.eval_period,
        "TRAIN.CHECKPOINT_PERIOD": spec.checkpoint_period,
        "SOLVER.MAX_EPOCH": spec.max_epoch,
        "MULTIGRID.EVAL_FREQ": spec.eval_freq,
        "MULTIGRID.BN_BASE_SIZE": spec.bn_base_size,
    }
    for key, value in keys.items():
        positive_int(value, key)


def _check_solver(spec: ScheduleSpec) -> None:
    """LR policy, STEPS, LRS and warmup must describe a usable LR curve."""
    one_of(spec.lr_policy, LR_POLICIES, "SOLVER.LR_POLICY")
    if spec.lr_policy == COSINE_POLICY:
        require(spec.cosine_end_lr < spec.base_lr, f"SOLVER.COSINE_END_LR {spec.cosine_end_lr} "
                                                   f"must be below SOLVER.BASE_LR {spec.base_lr}")
    steps = list(spec.steps)
    if steps and steps[0] != 0:
        raise ValueError(f"SOLVER.STEPS must start at 0 (the first LR stage), got {steps}")
    if any(later <= earlier for earlier, later in zip(steps, steps[1:])):
        raise ValueError(f"SOLVER.STEPS must be strictly increasing, got {steps}")
    if steps and steps[-1] > spec.max_epoch:
        raise ValueError(
            f"SOLVER.STEPS {steps} goes past SOLVER.MAX_EPOCH {spec.max_epoch}; "
            "raise MAX_EPOCH or drop the late steps"
        )
    if spec.lr_policy == STEP_POLICY:
        if not steps:
            raise ValueError(f"SOLVER.STEPS is empty but SOLVER.LR_POLICY is {STEP_POLICY!r}")
        if len(spec.lrs) < len(steps):
            raise ValueError(
                f"SOLVER.LRS {list(spec.lrs)} has {len(spec.lrs)} values but SOLVER.STEPS "
                f"{steps} has {len(steps)} LR stages; give one relative LR per stage"
            )
    if spec.warmup_epochs < 0:
        raise ValueError(f"SOLVER.WARMUP_EPOCHS must be >= 0, got {spec.warmup_epochs}")
    if (
        spec.lr_policy == COSINE_POLICY
        and spec.cosine_after_warmup
        and spec.warmup_epochs >= spec.max_epoch
    ):
        raise ValueError(
            f"SOLVER.COSINE_AFTER_WARMUP needs SOLVER.WARMUP_EPOCHS ({spec.warmup_epochs}) "
            f"< SOLVER.MAX_EPOCH ({spec.max_epoch})"
        )
    require(spec.base_lr > 0, f"SOLVER.BASE_LR must be > 0, got {spec.base_lr}")
    require(spec.warmup_epochs <= spec.max_epoch,
            f"SOLVER.WARMUP_EPOCHS {spec.warmup_epochs} must be in [0, SOLVER.MAX_EPOCH {spec.max_epoch}]")


JITTER_SCALINGS = ("min", "min_max")


def _check_multigrid(spec: ScheduleSpec) -> None:
    """Multigrid factors must give shapes no larger than the full one and at least 1 px/frame."""
    if spec.epoch_factor <= 0:
        raise ValueError(f"MULTIGRID.EPOCH_FACTOR must be > 0, got {spec.epoch_factor}")
    if spec.short_cycle:
        _check_short_cycle_factors(spec)
    if spec.long_cycle:
        _check_long_cycle_factors(spec)


def _check_short_cycle_factors(spec: ScheduleSpec) -> None:
    """Each short-cycle factor is in (0, 1] and gives a crop of at least one pixel."""
    factors = list(spec.short_cycle_factors)
    if not factors:
        raise ValueError("MULTIGRID.SHORT_CYCLE is True but MULTIGRID.SHORT_CYCLE_FACTORS is empty")
    for factor in factors:
        if not 0 < factor <= 1 or round(factor * spec.crop_size) < 1:
            raise ValueError(
                f"MULTIGRID.SHORT_CYCLE_FACTORS {factors}: {factor} must be in (0, 1] and give a "
                f"crop of at least 1 px with DATA.TRAIN_CROP_SIZE {spec.crop_size}"
            )


def _check_long_cycle_factors(spec: ScheduleSpec) -> None:
    """Each long-cycle factor is a (temporal, spatial) pair in (0, 1] giving >= 1 frame/px."""
    factors = [list(pair) for pair in spec.long_cycle_factors]
    if not factors:
        raise ValueError("MULTIGRID.LONG_CYCLE is True but MULTIGRID.LONG_CYCLE_FACTORS is empty")
    for pair in factors:
        if len(pair) != 2 or not all(0 < factor <= 1 for factor in pair):
            raise ValueError(
                f"MULTIGRID.LONG_CYCLE_FACTORS {factors}: {pair} must be a (temporal, spatial) "
                "pair of factors in (0, 1]"
            )
        if round(spec.num_frames * pair[0]) < 1 or round(spec.crop_size * pair[1]) < 1:
            raise ValueError(
                f"MULTIGRID.LONG_CYCLE_FACTORS {pair} gives zero frames or pixels with "
                f"DATA.NUM_FRAMES {spec.num_frames} and DATA.TRAIN_CROP_SIZE {spec.crop_size}"
            )

"""The training schedule: for every epoch, the clip shapes, batch sizes and learning rate.

Multigrid (Wu et al., CVPR 2020) with PySlowFast's numbers; baseline training is the same
object with one stage. Pure: no torch, no I/O; ``build_schedule`` is the only function that
reads the config.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any

from slowfast.multigrid.long_cycle import CycleShape, StagePlan, long_cycle_plan
from slowfast.multigrid.shape import ClipShape
from slowfast.multigrid.spec import COSINE_POLICY, STEP_POLICY, ScheduleSpec
from slowfast.utils.bn_groups import BNGroups
from slowfast.utils.checks import ConfigError


@dataclass(frozen=True)
class Stage:
    """Epochs [start_epoch, end_epoch) trained with one base shape, batch and LR multiplier.

    ``batch_size`` is global (all devices) at the base shape: ``batch_multiplier`` x
    TRAIN.BATCH_SIZE. ``short_cycle_shapes`` / ``short_cycle_batch_sizes`` list the
    per-iteration phases in order (smallest crop first, base shape last; one entry without
    short cycle), with global batch sizes. ``sampling_rate`` is the inclusive range of the
    per-clip temporal stride. ``lr_multiplier`` scales the LR policy's value: the long-cycle
    ``batch_multiplier`` (linear scaling), 1 without long cycle; short-cycle batches never
    change the LR, as in PySlowFast.
    """

    index: int
    start_epoch: int
    end_epoch: int
    num_frames: int
    crop_size: int
    batch_multiplier: int
    batch_size: int
    lr_multiplier: float
    sampling_rate: tuple[int, int]
    short_cycle_shapes: tuple[ClipShape, ...]
    short_cycle_batch_sizes: tuple[int, ...]

    @property
    def num_epochs(self) -> int:
        """Length of the stage in epochs."""
        return self.end_epoch - self.start_epoch

    @property
    def base_shape(self) -> ClipShape:
        """The stage's long-cycle shape (the last short-cycle phase)."""
        return self.short_cycle_shapes[-1]


@dataclass(frozen=True)
class Schedule:
    """All stages plus the LR policy, warmup and eval/checkpoint cadence of one run.

    LR at epoch e (before warmup) = policy value at e x the stage's ``lr_multiplier``. For the
    step policy ``lr_steps`` holds (first epoch, LR relative to BASE_LR) segments, looked up
    as the last segment starting at or before e. A segment may start inside a stage: the
    multigrid fine-tuning stage is one stage whose LR drops to the next SOLVER.LRS value at
    its midpoint (PySlowFast's extra STEPS entry, e.g. K400's 343).
    """

    stages: tuple[Stage, ...]
    max_epoch: int
    base_lr: float
    lr_policy: str
    lr_steps: tuple[tuple[int, float], ...]
    cosine_end_lr: float
    cosine_after_warmup: bool
    warmup_epochs: float
    warmup_start_lr: float
    long_cycle: bool
    eval_freq: int
    eval_period: int
    checkpoint_period: int
    spec: ScheduleSpec = field(compare=False, repr=False)  # the values it was made from
    # The BN group policy (ScheduleSpec.bn_groups), the one the model's BN layers follow.
    bn_groups: BNGroups = BNGroups()

    @property
    def full_shape(self) -> ClipShape:
        """The baseline's training shape (DATA.NUM_FRAMES x DATA.TRAIN_CROP_SIZE): the base shape of
        a stage at long-cycle factors 1, 1 (precise BN's shape)."""
        full = CycleShape(self.spec.num_frames, self.spec.crop_size, 1, 1.0)
        return _make_schedule_stage(self.spec, 0, 0, 1, full, lr_multiplier=1.0).base_shape

    def with_max_epoch(self, max_epoch: int) -> Schedule:
        """The schedule the same settings give with SOLVER.MAX_EPOCH ``max_epoch`` (a resumed run's
        check that a new MAX_EPOCH leaves its trained epochs as they were)."""
        return make_schedule(replace(self.spec, max_epoch=max_epoch))

    def bn_group_size(self, global_batch: int) -> int | None:
        """Clips per BN statistic in a global batch of ``global_batch`` clips; None without
        multigrid (every BN layer normalises its whole batch)."""
        return self.bn_groups.group_size(global_batch)

    def stage_at(self, epoch: int) -> Stage:
        """The stage that trains `epoch` (the last stage past the end)."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        for stage in self.stages:
            if epoch < stage.end_epoch:
                return stage
        return self.stages[-1]

    def policy_lr_at(self, epoch: float) -> float:
        """Absolute LR at a (fractional) epoch, ignoring warmup."""
        stage = self.stage_at(math.floor(epoch))
        return self._policy_value(epoch) * stage.lr_multiplier

    def lr_at(self, epoch: float) -> float:
        """Absolute LR at a (fractional) epoch, with PySlowFast's linear warmup.

        Warmup goes from SOLVER.WARMUP_START_LR to the LR at SOLVER.WARMUP_EPOCHS (under
        multigrid that target already includes the first stage's batch multiplier).
        """
        if epoch < self.warmup_epochs:
            target = self.policy_lr_at(self.warmup_epochs)
            slope = (target - self.warmup_start_lr) / self.warmup_epochs
            return self.warmup_start_lr + epoch * slope
        return self.policy_lr_at(epoch)

    def is_eval_epoch(self, epoch: int) -> bool:
        """Whether to evaluate after `epoch` (0-based)."""
        return self._is_due(epoch, self.eval_period)

    def is_checkpoint_epoch(self, epoch: int) -> bool:
        """Whether to save a checkpoint after `epoch` (0-based)."""
        return self._is_due(epoch, self.checkpoint_period)

    def _is_due(self, epoch: int, period: int) -> bool:
        """PySlowFast's rule: last epoch; under long cycle EVAL_FREQ per stage, else `period`."""
        if epoch + 1 == self.max_epoch:
            return True
        if not self.long_cycle:
            return (epoch + 1) % period == 0
        # Counted back from each stage's last epoch, so every stage ends on a due epoch.
        stage = self.stage_at(epoch)
        stage_period = max(stage.num_epochs // self.eval_freq + 1, 1)
        return (stage.end_epoch - 1 - epoch) % stage_period == 0

    def _policy_value(self, epoch: float) -> float:
        """The configured policy's absolute LR at `epoch`, before the stage multiplier."""
        if self.lr_policy == COSINE_POLICY:
            offset = self.warmup_epochs if self.cosine_after_warmup else 0.0
            progress = (epoch - offset) / (self.max_epoch - offset)
            cosine = (math.cos(math.pi * progress) + 1.0) / 2.0
            return self.cosine_end_lr + (self.base_lr - self.cosine_end_lr) * cosine
        relative = self.lr_steps[0][1]
        for start_epoch, value in self.lr_steps:
            if epoch >= start_epoch:
                relative = value
        return self.base_lr * relative


def first_differing_epoch(trained: Schedule, current: Schedule, num_epochs: int) -> int | None:
    """The first of epochs ``0..num_epochs-1`` that ``current`` would train differently from
    ``trained`` (other shapes, batch sizes or LR at its quarters), or None when they agree."""
    for epoch in range(num_epochs):
        old, new = trained.stage_at(epoch), current.stage_at(epoch)
        same_shapes = ((old.short_cycle_shapes, old.short_cycle_batch_sizes)
                       == (new.short_cycle_shapes, new.short_cycle_batch_sizes))
        same_lr = all(math.isclose(trained.lr_at(epoch + q / 4), current.lr_at(epoch + q / 4), rel_tol=1e-9)
                      for q in range(4))
        if not (same_shapes and same_lr):
            return epoch
    return None


def build_schedule(cfg: Any) -> Schedule:
    """Read MULTIGRID/SOLVER/DATA/TRAIN keys of `cfg` and build the run's schedule; ConfigError naming
    the key for the first bad value (or for settings that leave no epoch to train)."""
    try:
        return make_schedule(schedule_spec(cfg))
    except ConfigError:
        raise
    except ValueError as err:  # the spec's and make_schedule's messages name the keys
        raise ConfigError(str(err)) from err


def schedule_spec(cfg: Any) -> ScheduleSpec:
    """The schedule's section of `cfg` (MULTIGRID, SOLVER, TRAIN periods and batch, DATA shapes),
    checked once: ScheduleSpec raises a key-naming ValueError for the first bad value."""
    return ScheduleSpec(
        num_frames=cfg.DATA.NUM_FRAMES,
        crop_size=cfg.DATA.TRAIN_CROP_SIZE,
        sampling_rate=cfg.DATA.SAMPLING_RATE,
        jitter_scales=tuple(cfg.DATA.TRAIN_JITTER_SCALES),
        batch_size=cfg.TRAIN.BATCH_SIZE,
        eval_period=cfg.TRAIN.EVAL_PERIOD,
        checkpoint_period=cfg.TRAIN.CHECKPOINT_PERIOD,
        max_epoch=cfg.SOLVER.MAX_EPOCH,
        steps=tuple(cfg.SOLVER.STEPS),
        lrs=tuple(cfg.SOLVER.LRS),
        lr_policy=cfg.SOLVER.LR_POLICY,
        base_lr=cfg.SOLVER.BASE_LR,
        cosine_end_lr=cfg.SOLVER.COSINE_END_LR,
        cosine_after_warmup=cfg.SOLVER.COSINE_AFTER_WARMUP,
        warmup_epochs=cfg.SOLVER.WARMUP_EPOCHS,
        warmup_start_lr=cfg.SOLVER.WARMUP_START_LR,
        long_cycle=cfg.MULTIGRID.LONG_CYCLE,
        short_cycle=cfg.MULTIGRID.SHORT_CYCLE,
        long_cycle_factors=tuple(tuple(pair) for pair in cfg.MULTIGRID.LONG_CYCLE_FACTORS),
        short_cycle_factors=tuple(cfg.MULTIGRID.SHORT_CYCLE_FACTORS),
        epoch_factor=cfg.MULTIGRID.EPOCH_FACTOR,
        eval_freq=cfg.MULTIGRID.EVAL_FREQ,
        bn_base_size=cfg.MULTIGRID.BN_BASE_SIZE,
        bn_grouping=cfg.MULTIGRID.BN_GROUPING,
        jitter_scaling=cfg.MULTIGRID.JITTER_SCALING,
    )


@functools.lru_cache(maxsize=16)
def make_schedule(spec: ScheduleSpec) -> Schedule:
    """Build the schedule from validated plain values (see ``build_schedule``).

    Memoised on the frozen spec: the config's validation and the run that loads it share one
    (immutable) schedule object instead of building it again.
    """
    if spec.long_cycle:
        plans = long_cycle_plan(spec)
        stages = _long_cycle_stages(spec, plans)
        lr_steps = _long_cycle_lr_steps(spec, plans)
        if not stages:
            raise ValueError(
                f"SOLVER.MAX_EPOCH {spec.max_epoch} x MULTIGRID.EPOCH_FACTOR "
                f"{spec.epoch_factor} rounds to no epoch; raise one of them"
            )
    else:
        stages, lr_steps = _single_stage(spec)
    return Schedule(
        stages=stages,
        max_epoch=stages[-1].end_epoch,
        base_lr=spec.base_lr,
        lr_policy=spec.lr_policy,
        lr_steps=lr_steps,
        cosine_end_lr=spec.cosine_end_lr,
        cosine_after_warmup=spec.cosine_after_warmup,
        warmup_epochs=spec.warmup_epochs,
        warmup_start_lr=spec.warmup_start_lr,
        long_cycle=spec.long_cycle,
        eval_freq=spec.eval_freq,
        eval_period=spec.eval_period,
        checkpoint_period=spec.checkpoint_period,
        spec=spec,
        bn_groups=spec.bn_groups,
    )


def _single_stage(spec: ScheduleSpec) -> tuple[tuple[Stage, ...], tuple[tuple[int, float], ...]]:
    """Baseline or short-cycle-only: one full-shape stage; short cycle stretches epochs by EF."""
    factor = spec.epoch_factor if spec.short_cycle else 1.0
    # Truncation, as PySlowFast: int(STEPS_i x EF), int(MAX_EPOCH x EF).
    max_epoch = int(spec.max_epoch * factor)
    if max_epoch < 1:
        raise ValueError(
            f"SOLVER.MAX_EPOCH {spec.max_epoch} x MULTIGRID.EPOCH_FACTOR {spec.epoch_factor} "
            "leaves no epoch to train; raise one of them"
        )
    full_shape = CycleShape(spec.num_frames, spec.crop_size, 1, 1.0)
    stage = _make_schedule_stage(spec, 0, 0, max_epoch, full_shape, lr_multiplier=1.0)
    if spec.lr_policy == COSINE_POLICY:
        return (stage,), ()
    steps = [int(step * factor) for step in spec.steps]
    return (stage,), tuple(zip(steps, spec.lrs[: len(steps)]))


def _long_cycle_stages(spec: ScheduleSpec, plans: list[StagePlan]) -> tuple[Stage, ...]:
    """One Stage per planned entry that is still at least one epoch long after rounding."""
    stages: list[Stage] = []
    for plan in plans:
        if plan.end_epoch <= plan.start_epoch:
            continue
        # The LR scales linearly with the long-cycle batch; short-cycle batches do not
        # change it (as in PySlowFast).
        multiplier = float(plan.shape.batch_multiplier)
        stages.append(
            _make_schedule_stage(spec, len(stages), plan.start_epoch, plan.end_epoch, plan.shape, multiplier)
        )
    return tuple(stages)


def _long_cycle_lr_steps(
    spec: ScheduleSpec, plans: list[StagePlan]
) -> tuple[tuple[int, float], ...]:
    """Step-policy segments: LRS of each stage's LR stage; fine-tuning decays at its midpoint.

    PySlowFast takes GAMMA**i where we take SOLVER.LRS[i]; they agree for every shipped config
    (LRS = [1, 0.1, 0.01, ...]) and LRS keeps a user's custom relative LRs.
    """
    if spec.lr_policy != STEP_POLICY:
        return ()
    kept = [plan for plan in plans if plan.end_epoch > plan.start_epoch]
    segments: list[tuple[int, float]] = []
    for plan in kept:
        if plan.is_fine_tune:
            # PySlowFast: the first half keeps the last regular LR stage's value, the second
            # half uses the next one (the baseline's final LR stage).
            midpoint = (plan.start_epoch + plan.end_epoch) // 2
            segments.append((plan.start_epoch, spec.lrs[plan.lr_index - 1]))
            segments.append((midpoint, spec.lrs[plan.lr_index]))
        else:
            segments.append((plan.start_epoch, spec.lrs[plan.lr_index]))
    return tuple(segments)


def _make_schedule_stage(
    spec: ScheduleSpec,
    index: int,
    start_epoch: int,
    end_epoch: int,
    shape: CycleShape,
    lr_multiplier: float,
) -> Stage:
    """A Stage at `shape` with its short-cycle phases, sampling-rate range and jitter."""
    num_frames, crop_size = shape.num_frames, shape.crop_size
    multiplier = shape.batch_multiplier
    # Fewer frames cover a longer span by drawing a larger stride, up to the full span.
    sampling_rate = (spec.sampling_rate, spec.sampling_rate * (spec.num_frames // num_frames))
    crops, batches = _short_cycle_phases(spec, crop_size, multiplier * spec.batch_size)
    shapes = tuple(
        ClipShape(num_frames, crop, sampling_rate, _jitter_scales(spec, crop)) for crop in crops
    )
    return Stage(
        index=index,
        start_epoch=start_epoch,
        end_epoch=end_epoch,
        num_frames=num_frames,
        crop_size=crop_size,
        batch_multiplier=multiplier,
        batch_size=multiplier * spec.batch_size,
        lr_multiplier=lr_multiplier,
        sampling_rate=sampling_rate,
        short_cycle_shapes=shapes,
        short_cycle_batch_sizes=batches,
    )


def _short_cycle_phases(
    spec: ScheduleSpec, crop_size: int, batch_size: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Crops and global batch sizes of the short-cycle phases, base phase last.

    As PySlowFast: short-cycle crops are absolute, round(factor x DATA.TRAIN_CROP_SIZE), and
    the batch grows by round((stage crop / (factor x full crop))^2). So a 224-crop stage
    cycles 4x/2x/1x batches, a 158-crop stage 2x/1x/1x. Where custom factors make a
    short-cycle crop larger than the stage's, the growth is clamped to 1 (PySlowFast: 0).
    """
    crops: list[int] = []
    batches: list[int] = []
    if spec.short_cycle:
        for factor in spec.short_cycle_factors:
            exact_crop = factor * spec.crop_size
            growth = max(1, round((crop_size / exact_crop) ** 2))
            crops.append(round(exact_crop))
            batches.append(growth * batch_size)
    crops.append(crop_size)
    batches.append(batch_size)
    return tuple(crops), tuple(batches)


def _jitter_scales(spec: ScheduleSpec, crop_size: int) -> tuple[int, int]:
    """Scale-jitter range for `crop_size`: the lower bound shrinks with the crop, as PySlowFast
    (``jitter_scaling`` "min"), or both bounds ("min_max")."""
    low, high = spec.jitter_scales
    scale = crop_size / spec.crop_size
    return round(low * scale), (round(high * scale) if spec.jitter_scaling == "min_max" else high)

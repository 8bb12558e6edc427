"""Long-cycle stage plan: which base shape trains which epochs (Wu et al. 2020, PySlowFast).

Every baseline LR stage (between consecutive SOLVER.STEPS) is split among the long-cycle
shapes so that each shape gets the same number of iterations; a fine-tuning stage at the
last shape replaces the baseline's final LR stage; then all lengths are rescaled to
MAX_EPOCH x EPOCH_FACTOR epochs and cumulative ends are rounded to whole epochs.
"""
from __future__ import annotations

from dataclasses import dataclass

from slowfast.multigrid.spec import ScheduleSpec


@dataclass(frozen=True)
class CycleShape:
    """A long-cycle base shape with its batch multipliers."""

    num_frames: int
    crop_size: int
    # round(T0 x S0^2 / (T x S^2)) of the base shape.
    batch_multiplier: int
    # Mean multiplier over the cycle's short-cycle shapes (PySlowFast's "average batch size").
    mean_batch_multiplier: float


@dataclass(frozen=True)
class StagePlan:
    """One planned stage: its base shape, baseline LR stage and (rounded) epochs."""

    lr_index: int
    shape: CycleShape
    start_epoch: int
    end_epoch: int
    is_fine_tune: bool


def cycle_shapes(spec: ScheduleSpec) -> list[CycleShape]:
    """The long-cycle base shapes in factor order, with PySlowFast's batch multipliers.

    With short cycle the mean multiplier also counts the short-cycle crops, taken as the
    unrounded factor x full crop (112.0 and 158.39 for 224), as PySlowFast does.
    """
    full_size = float(spec.num_frames * spec.crop_size**2)
    shapes = []
    for time_factor, space_factor in spec.long_cycle_factors:
        num_frames = round(spec.num_frames * time_factor)
        crop_size = round(spec.crop_size * space_factor)
        crops = [float(crop_size)]
        if spec.short_cycle:
            crops = [factor * spec.crop_size for factor in spec.short_cycle_factors] + crops
        multipliers = [round(full_size / (num_frames * crop * crop)) for crop in crops]
        mean = sum(multipliers) / len(multipliers)
        shapes.append(CycleShape(num_frames, crop_size, multipliers[-1], mean))
    return shapes


def lr_stage_bounds(spec: ScheduleSpec) -> tuple[int, ...]:
    """Epoch bounds of the baseline LR stages the cycles repeat in.

    Empty or single SOLVER.STEPS (e.g. the cosine policy) means one LR stage [0, MAX_EPOCH];
    the epochs after STEPS[-1] become the fine-tuning stage.
    """
    if len(spec.steps) < 2:
        return (0, spec.max_epoch)
    return spec.steps


def long_cycle_plan(spec: ScheduleSpec) -> list[StagePlan]:
    """All planned stages in order, zero-length ones included (callers drop them)."""
    shapes = cycle_shapes(spec)
    means = [shape.mean_batch_multiplier for shape in shapes]
    bounds = lr_stage_bounds(spec)
    entries: list[tuple[int, CycleShape, float]] = []
    total_iterations = 0.0  # in baseline-epoch units
    for lr_index in range(len(bounds) - 1):
        lr_stage_epochs = bounds[lr_index + 1] - bounds[lr_index]
        for shape in shapes:
            # Epochs proportional to the mean batch -> equal iterations per shape.
            epochs = lr_stage_epochs * shape.mean_batch_multiplier / sum(means)
            total_iterations += epochs / shape.mean_batch_multiplier
            entries.append((lr_index, shape, epochs))
    fine_tune_epochs = spec.max_epoch - bounds[-1]
    if fine_tune_epochs > 0:
        # Fine-tuning saves as many iterations (relative to the baseline) as the rest.
        iteration_saving = bounds[-1] / total_iterations
        epochs = fine_tune_epochs / iteration_saving * shapes[-1].mean_batch_multiplier
        entries.append((len(bounds) - 1, shapes[-1], epochs))
    return _rescale(spec, entries, fine_tune=fine_tune_epochs > 0)


def _rescale(
    spec: ScheduleSpec, entries: list[tuple[int, CycleShape, float]], fine_tune: bool
) -> list[StagePlan]:
    """Scale entry lengths to MAX_EPOCH x EPOCH_FACTOR and round the cumulative ends."""
    scale = spec.max_epoch * spec.epoch_factor / sum(epochs for _, _, epochs in entries)
    plans = []
    total = 0.0
    start = 0
    for position, (lr_index, shape, epochs) in enumerate(entries):
        total += epochs * scale
        end = round(total)
        is_fine_tune = fine_tune and position == len(entries) - 1
        plans.append(StagePlan(lr_index, shape, start, end, is_fine_tune))
        start = end
    return plans

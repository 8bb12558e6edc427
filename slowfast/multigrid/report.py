"""Text table and JSON form of a Schedule, shared by tools/show_schedule.py and training."""
from __future__ import annotations

from typing import Any

from slowfast.multigrid.sampler import phase_batch_counts
from slowfast.multigrid.schedule import Schedule, Stage
from slowfast.multigrid.spec import COSINE_POLICY
from slowfast.utils.bn_groups import ranks_per_bn_group

HEADER = (
    "stage",
    "epochs",
    "T x S",
    "batch",
    "per device",
    "short cycle crops : batches/device",
    "LR",
    "BN",
    "iters/epoch",
    "compute",
)


def format_schedule_table(
    schedule: Schedule, num_devices: int, num_clips: int | None = None
) -> str:
    """The schedule as an aligned text table, one row per stage, plus a summary line.

    Iterations per epoch need `num_clips` (training clips per epoch); without it that column
    shows "-" and compute shares assume a dataset much larger than a batch.
    """
    if num_devices < 1:
        raise ValueError(f"num_devices must be >= 1, got {num_devices}")
    costs = [stage.num_epochs * _epoch_cost(stage, num_clips) for stage in schedule.stages]
    total_cost = sum(costs) or 1.0  # zero when num_clips is below every batch size
    rows = [HEADER]
    for stage, cost in zip(schedule.stages, costs):
        rows.append(_row(schedule, stage, num_devices, num_clips, 100.0 * cost / total_cost))
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append(_summary(schedule, num_devices, num_clips))
    return "\n".join(lines)


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    """The schedule as plain JSON data (global batch sizes; stage LR before warmup)."""
    stages = [
        {
            "start_epoch": stage.start_epoch,
            "end_epoch": stage.end_epoch,
            "num_frames": stage.num_frames,
            "crop_size": stage.crop_size,
            "batch_size": stage.batch_size,
            "lr": schedule.policy_lr_at(stage.start_epoch),
            "sampling_rate_max": stage.sampling_rate[1],
            "short_cycle": [
                {"crop_size": shape.crop_size, "batch_size": batch_size}
                for shape, batch_size in zip(
                    stage.short_cycle_shapes, stage.short_cycle_batch_sizes
                )
            ],
        }
        for stage in schedule.stages
    ]
    return {
        "max_epoch": schedule.max_epoch,
        "stages": stages,
        "lr_by_epoch": [schedule.lr_at(epoch) for epoch in range(schedule.max_epoch)],
    }


def epochs_note(schedule: Schedule, max_epoch: int, epoch_factor: float) -> str | None:
    """Why the schedule trains another number of epochs than SOLVER.MAX_EPOCH, in one line (None
    when it trains that many): multigrid scales the epochs by MULTIGRID.EPOCH_FACTOR, and the long
    cycle rounds its stage ends to whole epochs (the short cycle alone truncates)."""
    if schedule.max_epoch == max_epoch:
        return None
    scaled = max_epoch * epoch_factor
    cycle = "the long cycle" if schedule.long_cycle else "the short cycle"
    rounding = "" if scaled == schedule.max_epoch else (
        ", stage ends rounded to whole epochs" if schedule.long_cycle else ", truncated to whole epochs")
    return (f"training runs {schedule.max_epoch} epochs for SOLVER.MAX_EPOCH {max_epoch}: {cycle} trains "
            f"SOLVER.MAX_EPOCH x MULTIGRID.EPOCH_FACTOR {epoch_factor:g} = {scaled:g} epochs{rounding}; "
            "MULTIGRID.EPOCH_FACTOR 1.0 trains exactly SOLVER.MAX_EPOCH epochs")


def bn_grouping(per_device_batch: int, bn_base_size: int, num_devices: int) -> str:
    """How BN statistics reach groups of `bn_base_size` clips at this per-device batch (the
    stage's group size: ``Schedule.bn_group_size`` of its global batch)."""
    if per_device_batch == bn_base_size:
        return "plain"
    if per_device_batch > bn_base_size and per_device_batch % bn_base_size == 0:
        return f"groups of {bn_base_size} ({per_device_batch // bn_base_size} per device)"
    if per_device_batch < bn_base_size and bn_base_size % per_device_batch == 0:
        sync = bn_base_size // per_device_batch
        pooled = ranks_per_bn_group(per_device_batch, bn_base_size, num_devices)
        if pooled < sync and pooled == num_devices:
            return f"sync over {sync} devices (only {num_devices} available)"
        if pooled < sync:
            return f"sync over {pooled} devices (wanted {sync}; groups must divide {num_devices} devices)"
        return f"sync over {sync} devices"
    return f"plain ({per_device_batch} clips, not a multiple or divisor of {bn_base_size})"


def _row(
    schedule: Schedule, stage: Stage, num_devices: int, num_clips: int | None, share: float
) -> tuple[str, ...]:
    """The table cells of one stage."""
    iterations = "-"
    if num_clips is not None:
        iterations = str(sum(phase_batch_counts(num_clips, stage.short_cycle_batch_sizes)))
    return (
        str(stage.index),
        f"[{stage.start_epoch}, {stage.end_epoch})",
        f"{stage.num_frames}x{stage.crop_size}",
        str(stage.batch_size),
        _per_device(stage.batch_size, num_devices),
        _short_cycle_cell(stage, num_devices),
        _lr_cell(schedule, stage),
        _bn_cell(schedule, stage, num_devices),
        iterations,
        f"{share:.1f}%",
    )


def _bn_cell(schedule: Schedule, stage: Stage, num_devices: int) -> str:
    """The BN column: "plain" without multigrid's groups, else how the stage's groups are made."""
    group_size = schedule.bn_group_size(stage.batch_size)
    if group_size is None:
        return "plain"
    return bn_grouping(stage.batch_size // num_devices, group_size, num_devices)


def _per_device(batch_size: int, num_devices: int) -> str:
    """Per-device batch, flagged when it does not divide evenly."""
    if batch_size % num_devices:
        return f"{batch_size / num_devices:g} (uneven)"
    return str(batch_size // num_devices)


def _short_cycle_cell(stage: Stage, num_devices: int) -> str:
    """'112/158/224 : 32/16/8' for the stage's short-cycle phases, '-' without short cycle."""
    if len(stage.short_cycle_shapes) == 1:
        return "-"
    crops = "/".join(str(shape.crop_size) for shape in stage.short_cycle_shapes)
    batches = "/".join(_per_device(size, num_devices) for size in stage.short_cycle_batch_sizes)
    return f"{crops} : {batches}"


def _lr_cell(schedule: Schedule, stage: Stage) -> str:
    """LR at the stage start (before warmup) and where it changes inside the stage."""
    start = schedule.policy_lr_at(stage.start_epoch)
    if schedule.lr_policy == COSINE_POLICY:
        last = schedule.policy_lr_at(stage.end_epoch - 1)
        return f"{start:.4g} -> {last:.4g}"
    cell = f"{start:.4g}"
    for epoch, _ in schedule.lr_steps:
        if stage.start_epoch < epoch < stage.end_epoch:
            cell += f", {schedule.policy_lr_at(epoch):.4g} from {epoch}"
    return cell


def _epoch_cost(stage: Stage, num_clips: int | None) -> float:
    """Sum over one epoch's iterations of global batch x T x S^2."""
    phases = list(zip(stage.short_cycle_shapes, stage.short_cycle_batch_sizes))
    if num_clips is None:
        # Each phase runs equally often, so it sees batch / sum(batches) of the clips.
        total_batch = sum(size for _, size in phases)
        return sum(
            size / total_batch * shape.num_frames * shape.crop_size**2 for shape, size in phases
        )
    counts = phase_batch_counts(num_clips, stage.short_cycle_batch_sizes)
    return float(
        sum(
            count * size * shape.num_frames * shape.crop_size**2
            for count, (shape, size) in zip(counts, phases)
        )
    )


def _summary(schedule: Schedule, num_devices: int, num_clips: int | None) -> str:
    """One line: epochs, devices, warmup and, given the dataset size, total iterations."""
    parts = [f"{schedule.max_epoch} epochs on {num_devices} device(s)"]
    if schedule.warmup_epochs > 0:
        target = schedule.policy_lr_at(schedule.warmup_epochs)
        parts.append(
            f"warmup {schedule.warmup_start_lr:.4g} -> {target:.4g} "
            f"over {schedule.warmup_epochs:g} epochs"
        )
    if num_clips is not None:
        total = sum(
            stage.num_epochs * sum(phase_batch_counts(num_clips, stage.short_cycle_batch_sizes))
            for stage in schedule.stages
        )
        parts.append(f"{total} iterations for {num_clips} clips per epoch")
    return "; ".join(parts)

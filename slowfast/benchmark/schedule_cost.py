"""Schedule benchmark: iterations, GFLOPs per iteration and in total, and speedup over the baseline."""
from dataclasses import asdict, dataclass
from typing import Callable

from slowfast.multigrid.sampler import phase_batch_counts
from slowfast.multigrid.schedule import Schedule, Stage
from slowfast.multigrid.shape import ClipShape

# GFLOPs of one clip at (num_frames, crop_size).
GflopsPerClip = Callable[[int, int], float]


@dataclass(frozen=True)
class StageCost:
    """Training compute of one stage over all its epochs."""

    stage: int
    epochs: int
    shape: str
    iterations: int
    gflops_per_iteration: float
    total_gflops: float
    clips: int

    def to_json(self) -> dict:
        return asdict(self)


def stage_cost(stage: Stage, num_clips: int, gflops: GflopsPerClip) -> StageCost:
    """Iterations and training GFLOPs (forward, x3 for backward) of ``stage`` at ``num_clips`` per epoch."""
    counts = phase_batch_counts(num_clips, stage.short_cycle_batch_sizes)
    phases = list(zip(stage.short_cycle_shapes, stage.short_cycle_batch_sizes, counts))
    epoch_gflops = sum(count * size * 3 * gflops(s.num_frames, s.crop_size) for s, size, count in phases)
    epoch_iterations = sum(counts)
    epoch_clips = sum(count * size for _, size, count in phases)
    return StageCost(
        stage=stage.index,
        epochs=stage.num_epochs,
        shape=f"{stage.num_frames}x{stage.crop_size}",
        iterations=epoch_iterations * stage.num_epochs,
        gflops_per_iteration=epoch_gflops / max(epoch_iterations, 1),
        total_gflops=epoch_gflops * stage.num_epochs,
        clips=epoch_clips * stage.num_epochs,
    )


def schedule_costs(schedule: Schedule, num_clips: int, gflops: GflopsPerClip) -> list[StageCost]:
    """The cost of every stage of ``schedule``."""
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    return [stage_cost(stage, num_clips, gflops) for stage in schedule.stages]


def summarize(costs: list[StageCost], baseline: list[StageCost]) -> dict:
    """Totals and the predicted speedup: baseline training GFLOPs / this schedule's."""
    total = sum(cost.total_gflops for cost in costs)
    baseline_total = sum(cost.total_gflops for cost in baseline)
    return {
        "iterations": sum(cost.iterations for cost in costs),
        "total_gflops": total,
        "baseline_iterations": sum(cost.iterations for cost in baseline),
        "baseline_total_gflops": baseline_total,
        "predicted_speedup": baseline_total / total if total else None,
    }


def keeps_up(
    shapes: list[ClipShape], loader_clips_per_s: dict[str, float], model_clips_per_s: dict[str, float],
    name: Callable[[ClipShape], str],
) -> list[dict]:
    """Per shape measured by both benchmarks: loader vs model clips/s and whether the loader keeps up."""
    rows = []
    for shape in shapes:
        key = name(shape)
        loader, model = loader_clips_per_s.get(key), model_clips_per_s.get(_frames_crop(key))
        if loader is None or model is None:
            continue
        rows.append({"shape": key, "loader_clips_per_s": loader, "model_clips_per_s": model,
                     "keeps_up": loader >= model, "input_bound_fraction": max(0.0, 1.0 - loader / model)})
    return rows


def _frames_crop(shape_key: str) -> str:
    """'8x158' of '8x158 r2-8' (the model does not care about the sampling rate)."""
    return shape_key.split(" ")[0]

"""Will the loader keep up on a GPU node? Per stage of the schedule: the clips/s that a GPU's CPU
cores can load against the clips/s the GPU trains, and the whole run's predicted wall clock.

Per GPU and stage, over the stage's short-cycle phases (each ``clips`` = its batches x per-device
batch, so the shape mix is weighted by iterations):
    loader_s = sum(clips x cpu_s_per_clip) / cores_per_gpu      (the cores load in parallel)
    gpu_s    = sum(clips x gpu_s_per_clip)                       (gpu_s_per_clip = step_s / batch)
    loader clips/s = clips / loader_s, GPU clips/s = clips / gpu_s, headroom = the ratio
    predicted = max(loader_s, gpu_s)                             (the slower one sets the pace)
and over the run: efficiency = sum(gpu_s) / sum(predicted). It assumes loading overlaps the steps
(prefetching workers) and the cores scale perfectly; collation and transfer are not counted.

GPU step times missing for a shape (short-cycle shapes are rarely all measured) come from the
measured shape nearest in GFLOPs per clip (smallest |log ratio|; on a tie the larger shape),
scaled by the FLOP ratio: the same seconds per GFLOP as that shape.
"""
import math
from dataclasses import asdict, dataclass
from typing import Callable, Optional

from slowfast.multigrid.sampler import phase_batch_counts
from slowfast.multigrid.schedule import Stage
from slowfast.multigrid.shape import ClipShape

FramesCrop = tuple[int, int]


@dataclass(frozen=True)
class StepTime:
    """GPU seconds per clip at one (frames, crop), and where the number comes from."""

    gpu_s_per_clip: float
    source: str


def gpu_seconds_per_clip(
    measured: dict[FramesCrop, tuple[float, int]], needed: list[FramesCrop], gflops: Callable[[int, int], float],
) -> dict[FramesCrop, StepTime]:
    """Seconds per clip for each of ``needed`` from ``measured`` {(frames, crop): (step_s, batch)}:
    its own measurement, or the nearest measured shape's scaled by FLOPs (module docstring)."""
    if not measured:
        raise ValueError("the step-time table has no rows for the chosen precision and memory format")
    out = {}
    for shape in needed:
        if shape in measured:
            step_s, batch = measured[shape]
            out[shape] = StepTime(step_s / batch, f"measured at batch {batch}")
            continue
        nearest = min(measured, key=lambda m: (abs(math.log(gflops(*shape) / gflops(*m))), -gflops(*m)))
        step_s, batch = measured[nearest]
        ratio = gflops(*shape) / gflops(*nearest)
        out[shape] = StepTime(step_s / batch * ratio,
                              f"scaled by FLOPs (x{ratio:.3g}) from {nearest[0]}x{nearest[1]} at batch {batch}")
    return out


@dataclass(frozen=True)
class Phase:
    """One short-cycle phase of a stage, per GPU and epoch."""

    clips: int
    cpu_s_per_clip: float
    gpu_s_per_clip: float


@dataclass(frozen=True)
class StagePrediction:
    """One stage on one GPU and its cores: rates, headroom and time (over all the stage's epochs)."""

    stage: int
    epochs: int
    shape: str
    clips_per_gpu: int
    loader_clips_per_s: Optional[float]
    gpu_clips_per_s: Optional[float]
    headroom: Optional[float]  # loader clips/s over GPU clips/s; below 1 the GPU waits for data
    bound: str  # "gpu" or "loader": which one sets the stage's pace
    loader_s: float
    gpu_s: float
    predicted_s: float

    def to_json(self) -> dict:
        return asdict(self)


def stage_phases(
    stage: Stage, num_clips: int, num_devices: int, cpu_s_per_clip: dict[ClipShape, float],
    gpu_s_per_clip: dict[FramesCrop, float],
) -> list[Phase]:
    """The stage's phases per GPU and epoch: per-device clips and their CPU and GPU seconds."""
    counts = phase_batch_counts(num_clips, stage.short_cycle_batch_sizes)
    return [
        Phase(count * max(global_batch // num_devices, 1), cpu_s_per_clip[shape],
              gpu_s_per_clip[(shape.num_frames, shape.crop_size)])
        for shape, global_batch, count in zip(stage.short_cycle_shapes, stage.short_cycle_batch_sizes, counts)
    ]


def predict_stage(stage: int, epochs: int, shape: str, phases: list[Phase], cores_per_gpu: float) -> StagePrediction:
    """The stage's loader and GPU time on one GPU with ``cores_per_gpu`` cores (module docstring)."""
    if cores_per_gpu <= 0:
        raise ValueError(f"cores per GPU must be > 0, got {cores_per_gpu}")
    clips = sum(phase.clips for phase in phases) * epochs
    loader_s = sum(phase.clips * phase.cpu_s_per_clip for phase in phases) * epochs / cores_per_gpu
    gpu_s = sum(phase.clips * phase.gpu_s_per_clip for phase in phases) * epochs
    return StagePrediction(
        stage=stage, epochs=epochs, shape=shape, clips_per_gpu=clips,
        loader_clips_per_s=clips / loader_s if loader_s > 0 else None,
        gpu_clips_per_s=clips / gpu_s if gpu_s > 0 else None,
        headroom=gpu_s / loader_s if loader_s > 0 else None,
        bound="loader" if loader_s > gpu_s else "gpu",
        loader_s=loader_s, gpu_s=gpu_s, predicted_s=max(loader_s, gpu_s),
    )


def summarize_run(stages: list[StagePrediction]) -> dict:
    """Whole-run GPU-bound and predicted seconds, and efficiency = GPU-bound / predicted."""
    gpu_s = sum(stage.gpu_s for stage in stages)
    predicted_s = sum(stage.predicted_s for stage in stages)
    return {"gpu_bound_s": gpu_s, "predicted_s": predicted_s, "predicted_hours": predicted_s / 3600,
            "efficiency": gpu_s / predicted_s if predicted_s > 0 else None,
            "loader_bound_stages": [stage.stage for stage in stages if stage.bound == "loader"]}

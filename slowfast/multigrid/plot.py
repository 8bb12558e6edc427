"""The schedule over training iterations, like the paper's schedule figure: frames, crop, batch
and learning rate of every iteration, so a user sees the long and short cycles before training."""
from dataclasses import dataclass

from slowfast.multigrid.sampler import phase_batch_counts
from slowfast.multigrid.schedule import Schedule

# Iterations drawn at most; longer schedules are subsampled evenly (every epoch keeps its start).
MAX_POINTS = 20000


@dataclass(frozen=True)
class IterationPoint:
    """What one training iteration uses."""

    iteration: int
    epoch: int
    num_frames: int
    crop_size: int
    batch_size: int  # global, all devices
    lr: float


def iteration_points(schedule: Schedule, num_clips: int, max_points: int = MAX_POINTS) -> list[IterationPoint]:
    """Every iteration of ``schedule`` at ``num_clips`` training clips per epoch (as the sampler
    makes them: short-cycle phases in turn, full batches only), at most ``max_points`` of them."""
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    per_epoch = [sum(phase_batch_counts(num_clips, schedule.stage_at(e).short_cycle_batch_sizes))
                 for e in range(schedule.max_epoch)]
    stride = max(1, -(-sum(per_epoch) // max_points))
    points, first = [], 0
    for epoch, count in enumerate(per_epoch):
        stage = schedule.stage_at(epoch)
        phases = list(zip(stage.short_cycle_shapes, stage.short_cycle_batch_sizes))
        for it in range(0, count, stride):
            shape, batch = phases[it % len(phases)]
            points.append(IterationPoint(first + it, epoch, shape.num_frames, shape.crop_size, batch,
                                         schedule.lr_at(epoch + it / count)))
        first += count
    return points


def plot_schedule(points: list[IterationPoint], path: str, title: str = "") -> None:
    """Four panels over iterations (frames, crop, global batch, LR) written as an image to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    iterations = [p.iteration for p in points]
    panels = [("frames T", [p.num_frames for p in points]), ("crop S (px)", [p.crop_size for p in points]),
              ("global batch", [p.batch_size for p in points]), ("learning rate", [p.lr for p in points])]
    figure, axes = plt.subplots(len(panels), 1, figsize=(8, 7), sharex=True)
    for axis, (label, values) in zip(axes, panels):
        axis.step(iterations, values, where="post", linewidth=0.8)
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("training iteration")
    if title:
        axes[0].set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)

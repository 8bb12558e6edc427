"""Optional torch.compile of the model (TRAIN.COMPILE), sized to the multigrid schedule's shapes."""
from torch import nn

from slowfast.multigrid.schedule import Schedule

# Graphs beyond the training shapes: validation batches (full and a last partial one), precise
# BN's no-grad training forward, the test batches.
EXTRA_GRAPHS = 8


def training_batch_shapes(schedule: Schedule, world_size: int) -> set[tuple[int, int, int]]:
    """(per-device batch, frames, crop) of every training step the schedule makes."""
    return {
        (max(batch // world_size, 1), shape.num_frames, shape.crop_size)
        for stage in schedule.stages
        for shape, batch in zip(stage.short_cycle_shapes, stage.short_cycle_batch_sizes)
    }


def compile_model(model: nn.Module, num_shapes: int, backend: str = "inductor") -> int:
    """Compile ``model`` in place (its state dict keeps its keys) with one static graph per input
    shape, and let dynamo keep ``num_shapes`` + EXTRA_GRAPHS of them; returns that limit.

    Dynamo's default recompile limit (8) is below the shapes of a multigrid schedule: past it,
    it would silently fall back to eager for new shapes.
    """
    import torch._dynamo

    limit = num_shapes + EXTRA_GRAPHS
    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(config, name):
            setattr(config, name, max(getattr(config, name), limit))
    if hasattr(config, "accumulated_recompile_limit"):
        config.accumulated_recompile_limit = max(config.accumulated_recompile_limit, 4 * limit)
    model.compile(dynamic=False, backend=backend)
    return limit

"""How many clips and ranks one BN statistic covers; pure arithmetic shared by BN, the sampler and reports."""
from dataclasses import dataclass


@dataclass(frozen=True)
class BNGroups:
    """Which clips one BN statistic covers in a run: the policy the model's BN layers, the sampler's
    rank shares and the schedule's report all follow (built by ``bn_groups``).

    ``base_size`` None: each BN layer normalises its whole (per-device) batch, as plain BN.
    Otherwise groups of ``base_size`` clips, grown with the batch from ``reference_batch`` when set
    (``clips_per_statistic``).
    """

    base_size: int | None = None
    reference_batch: int | None = None

    def group_size(self, batch: int) -> int | None:
        """Clips per statistic in a batch of ``batch`` clips; None for the whole batch."""
        if self.base_size is None:
            return None
        return clips_per_statistic(batch, self.base_size, self.reference_batch)


def bn_groups(multigrid: bool, base_size: int, grouping: str, full_batch: int) -> BNGroups:
    """The run's BN group policy, its one definition: under multigrid (``multigrid``: long or short
    cycle on) groups of ``base_size`` (MULTIGRID.BN_BASE_SIZE) clips, which under ``grouping``
    "values" (MULTIGRID.BN_GROUPING) grow with the batch from ``full_batch`` (TRAIN.BATCH_SIZE, the
    full shape's batch); without multigrid the whole batch, as in PySlowFast."""
    if not multigrid:
        return BNGroups()
    return BNGroups(base_size, full_batch if grouping == "values" else None)


def clips_per_statistic(batch: int, base_size: int, reference_batch: int | None) -> int:
    """Clips one BN statistic covers in a batch of ``batch`` clips (per device, or global).

    ``base_size`` without ``reference_batch`` (MULTIGRID.BN_GROUPING "clips", PySlowFast's rule).
    With it (the batch at the full shape; "values"), ``base_size`` scaled by ``batch /
    reference_batch``: multigrid grows the batch by about the full shape's frames x pixels over
    the clip's, so a statistic then covers about as many values (clips x T x H x W) at every
    shape as ``base_size`` full-shape clips, and a batch always splits into as many groups.
    """
    if reference_batch is None:
        return base_size
    return max(1, base_size * batch // reference_batch)


def ranks_per_bn_group(per_device_batch: int, group_size: int, world_size: int) -> int:
    """Consecutive ranks whose batches one BN statistic covers, aiming at ``group_size`` clips.

    ``group_size // per_device_batch``, capped at ``world_size`` and lowered to a divisor of it
    (groups must tile the ranks); 1 means each rank normalises its own batch.
    """
    wanted = min(max(group_size // max(per_device_batch, 1), 1), world_size)
    while world_size % wanted:
        wanted -= 1
    return wanted


def rank_share(global_size: int, world_size: int, rank: int, group_size: int | None) -> list[int]:
    """Positions of a global batch that ``rank`` trains on.

    GroupedBatchNorm3d puts clip ``i`` of a batch with ``G`` groups in group ``i % G``, and ranks
    with fewer clips than a group pool their statistics over consecutive ranks. The share is
    chosen so that the groups the ranks form are exactly those one process would form over the
    whole global batch: several ranks then train like one process. Where no such share exists
    (no grouping, sizes that do not divide), each rank takes its contiguous slice.
    """
    per_rank = global_size // world_size
    contiguous = list(range(rank * per_rank, (rank + 1) * per_rank))
    if group_size is None or world_size == 1 or per_rank == 0:
        return contiguous
    if per_rank >= group_size:
        if per_rank % group_size:
            return contiguous
        groups_per_rank = per_rank // group_size
        num_groups = groups_per_rank * world_size
        return [rank * groups_per_rank + position % groups_per_rank + num_groups * (position // groups_per_rank)
                for position in range(per_rank)]
    pooled = ranks_per_bn_group(per_rank, group_size, world_size)
    if pooled * per_rank != group_size:
        return contiguous
    num_groups = world_size // pooled
    pool, member = divmod(rank, pooled)
    return [pool + num_groups * (member * per_rank + position) for position in range(per_rank)]

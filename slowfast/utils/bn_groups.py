"""How many ranks pool their clips for one BN statistic; pure arithmetic shared by BN and reports."""


def ranks_per_bn_group(per_device_batch: int, group_size: int, world_size: int) -> int:
    """Consecutive ranks whose batches one BN statistic covers, aiming at ``group_size`` clips.

    ``group_size // per_device_batch``, capped at ``world_size`` and lowered to a divisor of it
    (groups must tile the ranks); 1 means each rank normalises its own batch.
    """
    wanted = min(max(group_size // max(per_device_batch, 1), 1), world_size)
    while world_size % wanted:
        wanted -= 1
    return wanted

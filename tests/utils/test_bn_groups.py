"""bn_groups: ranks pooling BN statistics, and the share of a global batch each rank trains."""
import pytest

from slowfast.utils.bn_groups import BNGroups, bn_groups, clips_per_statistic, rank_share, ranks_per_bn_group


@pytest.mark.parametrize("multigrid, grouping, expected, sizes", [
    (False, "clips", BNGroups(None, None), [None, None]),  # the whole batch without multigrid
    (False, "values", BNGroups(None, None), [None, None]),
    (True, "clips", BNGroups(8, None), [8, 8]),
    (True, "values", BNGroups(8, 64), [8, 16]),  # grows with the batch from TRAIN.BATCH_SIZE 64
])
def test_the_bn_group_policy(multigrid, grouping, expected, sizes):
    groups = bn_groups(multigrid, 8, grouping, 64)
    assert groups == expected
    assert [groups.group_size(batch) for batch in (64, 128)] == sizes


@pytest.mark.parametrize("batch, base_size, reference_batch, expected", [
    (64, 4, None, 4), (4, 8, None, 8),  # "clips": the base size whatever the batch
    (64, 4, 4, 64), (16, 4, 4, 16), (4, 4, 4, 4),  # "values", one group per reference batch
    (64, 8, 64, 8), (128, 8, 64, 16), (512, 8, 64, 64),  # 8 groups in every global batch of K400's 8 GPUs
    (2, 8, 2, 8), (8, 8, 2, 32),  # pooled over 4 ranks at every shape
    (3, 1, 4, 1),  # never below one clip
])
def test_clips_per_statistic(batch, base_size, reference_batch, expected):
    assert clips_per_statistic(batch, base_size, reference_batch) == expected


def one_process_groups(global_size: int, group_size: int) -> set[frozenset]:
    """Groups GroupedBatchNorm3d forms over a whole batch: position i in group i % G."""
    num_groups = global_size // group_size
    return {frozenset(range(j, global_size, num_groups)) for j in range(num_groups)}


def groups_over_ranks(global_size: int, world_size: int, group_size: int) -> set[frozenset]:
    """Groups formed when each rank normalises its share (strided groups, or pooled with
    consecutive ranks when its share is smaller than a group)."""
    shares = [rank_share(global_size, world_size, rank, group_size) for rank in range(world_size)]
    per_rank = len(shares[0])
    if per_rank >= group_size:
        local_groups = per_rank // group_size
        return {frozenset(share[j::local_groups]) for share in shares for j in range(local_groups)}
    pooled = ranks_per_bn_group(per_rank, group_size, world_size)
    return {frozenset(p for share in shares[first:first + pooled] for p in share)
            for first in range(0, world_size, pooled)}


@pytest.mark.parametrize("global_size, world_size, group_size", [
    (8, 2, 4), (16, 2, 4), (32, 4, 4), (24, 2, 4), (64, 8, 8),  # each rank has whole groups
    (8, 4, 4), (16, 8, 4), (8, 8, 8), (16, 8, 8),  # ranks pool to make a group
])
def test_ranks_form_the_groups_one_process_forms(global_size, world_size, group_size):
    shares = [rank_share(global_size, world_size, rank, group_size) for rank in range(world_size)]
    assert sorted(p for share in shares for p in share) == list(range(global_size))
    assert groups_over_ranks(global_size, world_size, group_size) == one_process_groups(global_size, group_size)


def test_examples():
    # 2 ranks of 8 clips, groups of 4: rank 0 holds groups 0 and 1 of the 4 one process forms.
    assert rank_share(16, 2, 0, 4) == [0, 1, 4, 5, 8, 9, 12, 13]
    # 4 ranks of 2 clips pool in pairs: ranks 0 and 1 make group 0 (even positions).
    assert rank_share(8, 4, 1, 4) == [4, 6]


@pytest.mark.parametrize("global_size, world_size, rank, group_size", [
    (8, 2, 1, None), (8, 1, 0, 4), (12, 2, 1, 4), (6, 2, 1, 4)])
def test_contiguous_slice_without_grouping_or_when_sizes_do_not_divide(global_size, world_size, rank, group_size):
    per_rank = global_size // world_size
    assert rank_share(global_size, world_size, rank, group_size) == list(range(rank * per_rank, (rank + 1) * per_rank))

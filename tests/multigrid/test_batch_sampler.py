"""MultigridBatchSampler: phase batch sizes, shapes, exact length, rank split, resume."""
import pytest

from slowfast.multigrid.sampler import MultigridBatchSampler, count_batches, phase_batch_counts
from slowfast.multigrid.schedule import build_schedule

TINY = {
    "DATA.NUM_FRAMES": 4,
    "DATA.SAMPLING_RATE": 2,
    "DATA.TRAIN_CROP_SIZE": 64,
    "DATA.TRAIN_JITTER_SCALES": [64, 80],
    "SOLVER.STEPS": [0, 4],
    "SOLVER.LRS": [1, 0.1],
    "SOLVER.MAX_EPOCH": 6,
    "SOLVER.WARMUP_EPOCHS": 0.0,
}


@pytest.fixture
def short_cycle(make_cfg):
    """Short cycle only, TRAIN.BATCH_SIZE 6: global phase batches 24/12/6, crops 32/45/64."""
    return build_schedule(make_cfg({**TINY, "TRAIN.BATCH_SIZE": 6, "MULTIGRID.SHORT_CYCLE": True}))


def batches(sampler, epoch=0, start_batch=0):
    sampler.set_epoch(epoch, start_batch)
    return list(sampler)


def test_phase_batch_sizes_and_shapes_single_device(short_cycle):
    sampler = MultigridBatchSampler(100, short_cycle)
    result = batches(sampler)
    # 100 clips: two cycles of 24+12+6 = 84, then 16 left < 24 -> 6 batches.
    assert [len(b) for b in result] == [24, 12, 6, 24, 12, 6]
    crops = [b[0][1].crop_size for b in result]
    assert crops == [32, 45, 64, 32, 45, 64]
    assert all(len({shape for _, shape, _ in b}) == 1 for b in result)
    first = result[0][0][1]
    assert (first.num_frames, first.sampling_rate, first.jitter_scales) == (4, (2, 2), (32, 80))
    indices = [index for b in result for index, _, _ in b]
    assert len(set(indices)) == 84 and set(indices) <= set(range(100))
    assert len(sampler) == 6


def test_drop_last_false_keeps_a_partial_batch(short_cycle):
    sampler = MultigridBatchSampler(100, short_cycle, drop_last=False)
    result = batches(sampler)
    assert [len(b) for b in result] == [24, 12, 6, 24, 12, 6, 16]
    assert result[-1][0][1].crop_size == 32  # the partial batch continues the phase cycle
    assert sorted(i for b in result for i, _, _ in b) == list(range(100))
    assert len(sampler) == 7


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_get_disjoint_clips_and_identical_shapes(short_cycle, world_size):
    samplers = [MultigridBatchSampler(100, short_cycle, world_size, rank) for rank in range(world_size)]
    per_rank = [batches(s, epoch=3) for s in samplers]
    lengths = {len(s) for s in samplers}
    assert lengths == {6} and all(len(r) == 6 for r in per_rank)
    for rank_batches in per_rank:
        assert [len(b) for b in rank_batches] == [24 // world_size, 12 // world_size, 6 // world_size] * 2
    shapes = [[b[0][1] for b in rank_batches] for rank_batches in per_rank]
    assert all(s == shapes[0] for s in shapes)
    indices = [i for rank_batches in per_rank for b in rank_batches for i, _, _ in b]
    assert len(indices) == len(set(indices)) == 84
    # The global batch of an iteration does not depend on the device count.
    single = batches(MultigridBatchSampler(100, short_cycle), epoch=3)
    merged = [sorted(i for r in per_rank for i, _, _ in r[k]) for k in range(6)]
    assert merged == [sorted(i for i, _, _ in b) for b in single]


@pytest.mark.parametrize("grouping, expected_groups", [
    ("clips", [{frozenset(range(j, 24, 4)) for j in range(4)}, {frozenset(range(j, 12, 2)) for j in range(2)}]),
    ("values", [{frozenset(range(j, 24, 1)) for j in range(1)}, {frozenset(range(12))}]),
])
def test_ranks_take_shares_that_make_one_process_bn_groups(make_cfg, grouping, expected_groups):
    """TRAIN.BATCH_SIZE 6, BN_BASE_SIZE 6, 2 ranks: under "clips" the 24- and 12-clip phases make
    groups of 6 (4 and 2 of them); under "values" one group per phase, pooled over both ranks."""
    cfg = make_cfg({**TINY, "TRAIN.BATCH_SIZE": 6, "MULTIGRID.SHORT_CYCLE": True,
                    "MULTIGRID.BN_BASE_SIZE": 6, "MULTIGRID.BN_GROUPING": grouping})
    schedule = build_schedule(cfg)
    samplers = [MultigridBatchSampler(100, schedule, 2, rank, grouped_bn=True) for rank in range(2)]
    per_rank = [batches(s) for s in samplers]
    single = batches(MultigridBatchSampler(100, schedule))
    for iteration, groups in enumerate(expected_groups):
        position = {index: p for p, (index, _, _) in enumerate(single[iteration])}
        shares = [[position[index] for index, _, _ in rank_batches[iteration]] for rank_batches in per_rank]
        size = len(single[iteration])
        group_size = schedule.bn_group_size(size)
        if group_size <= len(shares[0]):
            local = len(shares[0]) // group_size
            formed = {frozenset(share[j::local]) for share in shares for j in range(local)}
        else:
            formed = {frozenset(shares[0] + shares[1])}
        assert formed == groups


def test_order_depends_on_seed_and_epoch_only(short_cycle):
    first = batches(MultigridBatchSampler(100, short_cycle, seed=7), epoch=2)
    again = batches(MultigridBatchSampler(100, short_cycle, seed=7), epoch=2)
    other_epoch = batches(MultigridBatchSampler(100, short_cycle, seed=7), epoch=3)
    other_seed = batches(MultigridBatchSampler(100, short_cycle, seed=8), epoch=2)
    assert first == again
    assert first != other_epoch and first != other_seed


@pytest.mark.parametrize("start_batch", [0, 1, 4, 6])
def test_start_batch_resumes_like_skipping(short_cycle, start_batch):
    for rank in range(2):
        sampler = MultigridBatchSampler(100, short_cycle, world_size=2, rank=rank)
        full = batches(sampler, epoch=1)
        resumed = batches(sampler, epoch=1, start_batch=start_batch)
        assert resumed == full[start_batch:]
        assert len(sampler) == 6 - start_batch
        assert sampler.batches_in_epoch == 6
    with pytest.raises(ValueError, match="start_batch"):
        sampler.set_epoch(1, start_batch=7)


def test_len_is_exact(short_cycle, make_cfg):
    long_only = build_schedule(make_cfg({**TINY, "TRAIN.BATCH_SIZE": 6, "MULTIGRID.LONG_CYCLE": True}))
    for schedule in (short_cycle, long_only):
        for size in (1, 5, 6, 41, 42, 43, 97):
            for world_size in (1, 2, 3):
                for drop_last in (True, False):
                    sampler = MultigridBatchSampler(size, schedule, world_size, world_size - 1, 0, drop_last)
                    for epoch in range(schedule.max_epoch):
                        assert len(batches(sampler, epoch)) == len(sampler)


def test_stages_change_shape_and_batch(make_cfg):
    schedule = build_schedule(make_cfg({**TINY, "TRAIN.BATCH_SIZE": 2, "MULTIGRID.LONG_CYCLE": True}))
    sampler = MultigridBatchSampler(64, schedule, world_size=2, rank=1)
    seen = []
    for stage in schedule.stages:
        first_batch = batches(sampler, stage.start_epoch)[0]
        shape = first_batch[0][1]
        seen.append((len(first_batch), shape.num_frames, shape.crop_size, shape.sampling_rate))
        assert len(sampler) == 64 // stage.batch_size
    # Long-cycle shapes of T0 4, S0 64: 1x45 (x8), 2x45 (x4), 2x64 (x2), 4x64 (x1).
    assert seen[:4] == [(8, 1, 45, (2, 8)), (4, 2, 45, (2, 4)), (2, 2, 64, (2, 4)), (1, 4, 64, (2, 2))]


def test_baseline_has_one_constant_shape(make_cfg):
    schedule = build_schedule(make_cfg({**TINY, "TRAIN.BATCH_SIZE": 4}))
    result = batches(MultigridBatchSampler(10, schedule))
    assert [len(b) for b in result] == [4, 4]
    assert len({shape for b in result for _, shape, _ in b}) == 1


def test_batch_must_split_over_devices(make_cfg):
    schedule = build_schedule(make_cfg({**TINY, "TRAIN.BATCH_SIZE": 4}))
    with pytest.raises(ValueError, match=r"TRAIN\.BATCH_SIZE.*\(3\)"):
        MultigridBatchSampler(10, schedule, world_size=3)
    with pytest.raises(ValueError, match="rank"):
        MultigridBatchSampler(10, schedule, world_size=2, rank=2)


def test_counting_helpers():
    assert phase_batch_counts(100, [24, 12, 6]) == [2, 2, 2]
    assert phase_batch_counts(120, [24, 12, 6]) == [3, 3, 2]
    assert phase_batch_counts(10, [24, 12, 6]) == [0, 0, 0]
    assert count_batches(100, [24, 12, 6], world_size=4, drop_last=False) == 7
    assert count_batches(87, [24, 12, 6], world_size=4, drop_last=False) == 6  # 3 left < 4


def test_drives_a_torch_dataloader(short_cycle):
    torch = pytest.importorskip("torch")

    class CropOfItem(torch.utils.data.Dataset):
        def __len__(self):
            return 50

        def __getitem__(self, item):
            index, shape, _ = item
            return index, shape.crop_size

    sampler = MultigridBatchSampler(50, short_cycle, world_size=2, rank=0)
    loader = torch.utils.data.DataLoader(CropOfItem(), batch_sampler=sampler)
    sampler.set_epoch(1)
    result = [(indices.tolist(), crops.tolist()) for indices, crops in loader]
    # 50 clips: one cycle of 24+12+6 global clips, then 8 left < 24; rank 0 gets half of each.
    assert len(result) == len(loader) == 3
    assert [crops for _, crops in result] == [[32] * 12, [45] * 6, [64] * 3]
    assert [indices for indices, _ in result] == [[i for i, _, _ in b] for b in batches(sampler, 1)]


def test_epoch_sizes_can_be_asked_for_any_epoch(make_cfg):
    """Long cycle, TRAIN.BATCH_SIZE 2: the stages' batches differ, and so do their counts."""
    schedule = build_schedule(make_cfg({**TINY, "TRAIN.BATCH_SIZE": 2, "MULTIGRID.LONG_CYCLE": True}))
    sampler = MultigridBatchSampler(100, schedule, world_size=2)
    for epoch in range(schedule.max_epoch):
        size = schedule.stage_at(epoch).batch_size
        assert sampler.batches_in(epoch) == count_batches(100, [size], 2) == 100 // size
        assert sampler.clips_in(epoch) == 100 // size * size
    assert len({sampler.batches_in(epoch) for epoch in range(schedule.max_epoch)}) > 1
    partial = MultigridBatchSampler(100, schedule, world_size=2, drop_last=False)
    assert partial.clips_in(0) == 100 and partial.batches_in(0) == sampler.batches_in(0) + (100 % 16 > 0)


@pytest.mark.parametrize("grouping", ["clips", "values"])
def test_precise_bn_batches_are_full_shape_global_batches_split_like_training_ones(make_cfg, grouping):
    """BN_BASE_SIZE 2 over batches of 4 on 2 ranks: each rank's share makes the groups one
    process would; the full shape whatever the stage; a permutation of its own per epoch."""
    cfg = make_cfg({**TINY, "TRAIN.BATCH_SIZE": 4, "MULTIGRID.LONG_CYCLE": True, "MULTIGRID.SHORT_CYCLE": True,
                    "MULTIGRID.BN_BASE_SIZE": 2, "MULTIGRID.BN_GROUPING": grouping})
    schedule = build_schedule(cfg)
    assert schedule.full_shape == schedule.stages[-1].base_shape
    assert (schedule.full_shape.num_frames, schedule.full_shape.crop_size) == (4, 64)
    assert schedule.stage_at(0).base_shape != schedule.full_shape
    samplers = [MultigridBatchSampler(30, schedule, 2, rank, seed=3, grouped_bn=True) for rank in range(2)]
    per_rank = [sampler.full_shape_batches(0, 4, num_batches=10) for sampler in samplers]
    single = MultigridBatchSampler(30, schedule, seed=3).full_shape_batches(0, 4, num_batches=10)
    assert [len(b) for b in single] == [4] * 7 and [len(b) for b in per_rank[0]] == [2] * 7  # 30 // 4 batches
    assert {shape for b in single + per_rank[0] for _, shape, _ in b} == {schedule.full_shape}
    assert {epoch for b in single for _, _, epoch in b} == {0}
    for whole, first, second in zip(single, *per_rank):
        indices = [index for index, _, _ in whole]
        # Groups of 2 are clips {0, 2} and {1, 3} of the global batch: each rank holds one.
        assert [index for index, _, _ in first] == indices[0::2] and [index for index, _, _ in second] == indices[1::2]
    order = [index for b in single for index, _, _ in b]
    assert len(set(order)) == 28
    training = [index for b in batches(MultigridBatchSampler(30, schedule, seed=3)) for index, _, _ in b]
    assert order[:8] != training[:8]  # not the training order of the epoch
    assert single == MultigridBatchSampler(30, schedule, seed=3).full_shape_batches(0, 4, 10)
    assert single != MultigridBatchSampler(30, schedule, seed=3).full_shape_batches(1, 4, 10)
    assert [len(b) for b in samplers[0].full_shape_batches(0, 4, num_batches=2)] == [2, 2]
    assert [len(b) for b in samplers[0].full_shape_batches(0, 3, num_batches=2)] == [1, 1]  # 3 // 2 ranks x 2

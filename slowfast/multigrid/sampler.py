"""Batch sampler that emits ``(index, ClipShape, epoch)`` items following the schedule's stages.

Iteration i of an epoch takes the next global batch (the size of short-cycle phase i mod P)
from one permutation of the dataset shared by all ranks; each rank gets its own share of that
global batch (``bn_groups.rank_share``: chosen so the ranks' BN groups are those one process
would form). So ranks see disjoint clips, the same shape at the same iteration, and the same
number of iterations. Precise BN's batches (full shape, baseline batch) are laid out the same
way from a permutation of their own.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from slowfast.multigrid.schedule import Schedule, Stage
from slowfast.multigrid.shape import ClipShape
from slowfast.utils.bn_groups import rank_share

Batch = list[tuple[int, ClipShape, int]]
# SeedSequence streams of an epoch's permutations: the training batches' and precise BN's.
TRAINING_STREAM, PRECISE_BN_STREAM = (), (1,)


def phase_batch_counts(dataset_size: int, global_batch_sizes: Sequence[int]) -> list[int]:
    """Full batches per short-cycle phase in one epoch, cycling phases from phase 0."""
    cycle_clips = sum(global_batch_sizes)
    full_cycles, remaining = divmod(dataset_size, cycle_clips)
    counts = [full_cycles] * len(global_batch_sizes)
    for phase, batch_size in enumerate(global_batch_sizes):
        if remaining < batch_size:
            break
        counts[phase] += 1
        remaining -= batch_size
    return counts


def count_batches(
    dataset_size: int,
    global_batch_sizes: Sequence[int],
    world_size: int = 1,
    drop_last: bool = True,
) -> int:
    """Iterations in one epoch: full batches, plus a last partial one unless `drop_last`.

    The partial batch keeps the leftover clips rounded down to a multiple of `world_size`
    (so every rank gets the same count), and exists only if that leaves any.
    """
    counts = phase_batch_counts(dataset_size, global_batch_sizes)
    leftover = _leftover(dataset_size, global_batch_sizes, counts, world_size)
    return sum(counts) + int(not drop_last and leftover > 0)


def _leftover(
    dataset_size: int, global_batch_sizes: Sequence[int], counts: Sequence[int], world_size: int
) -> int:
    """Clips left after the full batches, rounded down to a multiple of `world_size`."""
    used = sum(count * size for count, size in zip(counts, global_batch_sizes))
    left = dataset_size - used
    return left - left % world_size


class MultigridBatchSampler:
    """Per-rank batches of ``(dataset index, ClipShape)`` for the current epoch's stage.

    Call ``set_epoch`` before each epoch (and with ``start_batch`` to resume mid-epoch). The
    order depends only on (seed, epoch), so it is identical on every rank and across resumes.
    With ``grouped_bn`` (multigrid's BN groups, sized by ``schedule.bn_group_size``) each rank
    takes the share of a global batch that makes the groups one process would make.
    """

    def __init__(
        self,
        dataset_size: int,
        schedule: Schedule,
        world_size: int = 1,
        rank: int = 0,
        seed: int = 0,
        drop_last: bool = True,
        grouped_bn: bool = False,
    ) -> None:
        if dataset_size < 1:
            raise ValueError(f"dataset_size must be >= 1, got {dataset_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, world_size={world_size})")
        _check_divisible(schedule, world_size)
        self.dataset_size = dataset_size
        self.schedule = schedule
        self.world_size = world_size
        self.rank = rank
        self.seed = seed
        self.drop_last = drop_last
        self.grouped_bn = grouped_bn
        self.epoch = 0
        self.start_batch = 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the epoch to iterate, skipping its first `start_batch` batches."""
        sizes = self.schedule.stage_at(epoch).short_cycle_batch_sizes
        total = count_batches(self.dataset_size, sizes, self.world_size, self.drop_last)
        if not 0 <= start_batch <= total:
            raise ValueError(f"start_batch {start_batch} is outside [0, {total}] for epoch {epoch}")
        self.epoch = epoch
        self.start_batch = start_batch

    @property
    def stage(self) -> Stage:
        """The stage of the current epoch."""
        return self.schedule.stage_at(self.epoch)

    @property
    def batches_in_epoch(self) -> int:
        """Iterations of the whole current epoch, resumed part included."""
        return self.batches_in(self.epoch)

    def batches_in(self, epoch: int) -> int:
        """Iterations of ``epoch``."""
        sizes = self.schedule.stage_at(epoch).short_cycle_batch_sizes
        return count_batches(self.dataset_size, sizes, self.world_size, self.drop_last)

    def clips_in(self, epoch: int) -> int:
        """Clips the batches of ``epoch`` hold over all ranks."""
        sizes = self.schedule.stage_at(epoch).short_cycle_batch_sizes
        counts = phase_batch_counts(self.dataset_size, sizes)
        full = sum(count * size for count, size in zip(counts, sizes))
        return full + (0 if self.drop_last else _leftover(self.dataset_size, sizes, counts, self.world_size))

    def __len__(self) -> int:
        """Batches ``__iter__`` yields: the epoch's batches from ``start_batch`` on."""
        return self.batches_in_epoch - self.start_batch

    def __iter__(self) -> Iterator[Batch]:
        """This rank's batches of the current epoch, from ``start_batch`` on."""
        order = self._permutation(self.epoch, TRAINING_STREAM)
        shapes = self.stage.short_cycle_shapes
        for iteration, (start, global_size) in enumerate(self._global_batches()):
            if iteration < self.start_batch:
                continue
            yield self._share(order[start:start + global_size], shapes[iteration % len(shapes)], self.epoch)

    def full_shape_batches(self, epoch: int, batch_size: int, num_batches: int) -> list[Batch]:
        """This rank's share of up to ``num_batches`` global batches of ``batch_size`` clips (rounded
        down to a multiple of the ranks, at least one per rank) at the schedule's full shape, from
        epoch ``epoch``'s precise-BN permutation: every rank gets as many batches."""
        global_size = max(batch_size // self.world_size, 1) * self.world_size
        order = self._permutation(epoch, PRECISE_BN_STREAM)
        shape = self.schedule.full_shape
        count = min(num_batches, self.dataset_size // global_size)
        return [self._share(order[b * global_size:(b + 1) * global_size], shape, epoch) for b in range(count)]

    def _share(self, global_batch: np.ndarray, shape: ClipShape, epoch: int) -> Batch:
        """This rank's items of one global batch (its BN groups those one process would form)."""
        group_size = self.schedule.bn_group_size(len(global_batch)) if self.grouped_bn else None
        share = rank_share(len(global_batch), self.world_size, self.rank, group_size)
        return [(int(global_batch[position]), shape, epoch) for position in share]

    def _permutation(self, epoch: int, stream: tuple[int, ...]) -> np.ndarray:
        """A shuffled dataset order seeded by (seed, epoch, stream) only."""
        generator = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, *stream]))
        return generator.permutation(self.dataset_size)

    def _global_batches(self) -> Iterator[tuple[int, int]]:
        """(offset into the permutation, global size) of every batch of the epoch."""
        sizes = self.stage.short_cycle_batch_sizes
        counts = phase_batch_counts(self.dataset_size, sizes)
        offset = 0
        for iteration in range(sum(counts)):
            size = sizes[iteration % len(sizes)]
            yield offset, size
            offset += size
        leftover = _leftover(self.dataset_size, sizes, counts, self.world_size)
        if not self.drop_last and leftover > 0:
            yield offset, leftover


def _check_divisible(schedule: Schedule, world_size: int) -> None:
    """Every global batch of every stage must split evenly over the devices."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    for stage in schedule.stages:
        for size in stage.short_cycle_batch_sizes:
            if size % world_size:
                raise ValueError(
                    f"stage {stage.index}'s global batch {size} (TRAIN.BATCH_SIZE x batch "
                    f"multiplier {stage.batch_multiplier}) does not split over {world_size} "
                    f"devices; make TRAIN.BATCH_SIZE a multiple of the device count ({world_size})"
                )

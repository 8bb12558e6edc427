"""DataLoaders: a persistent training loader driven by a batch sampler, and sharded eval loaders."""
import random
from typing import Iterable, Iterator, Optional

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def seed_worker(worker_id: int) -> None:
    """Seed numpy and random from the worker's torch seed; keep OpenCV single-threaded per worker."""
    seed = torch.initial_seed()
    np.random.seed(seed % 2**32)
    random.seed(seed)
    cv2.setNumThreads(1)


def _worker_options(num_workers: int, persistent: bool = True) -> dict:
    if num_workers == 0:
        return {}
    # OpenCV's thread pool does not survive fork: a worker forked after the main process used
    # cv2 with several threads hangs in cv2.setNumThreads. One thread in the parent avoids it.
    cv2.setNumThreads(1)
    return {"persistent_workers": persistent, "prefetch_factor": 2, "worker_init_fn": seed_worker}


def _generator(seed: Optional[int]) -> Optional[torch.Generator]:
    return None if seed is None else torch.Generator().manual_seed(seed)


def build_train_loader(
    dataset: Dataset,
    batch_sampler: Iterable[list],
    num_workers: int,
    pin_memory: bool,
    seed: Optional[int] = None,
    persistent: bool = True,
) -> DataLoader:
    """Loader built once for the whole run: the batch sampler's items carry each batch's shape.

    ``seed`` fixes the workers' base seed (else it comes from the global torch generator, which
    then depends on how many loader iterators this process started: pass a seed wherever the run
    must resume exactly); ``persistent`` False for one-off passes such as precise BN.
    """
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        num_workers=num_workers,
        pin_memory=pin_memory and torch.cuda.is_available(),
        generator=_generator(seed),
        **_worker_options(num_workers, persistent),
    )


def shard_range(num_items: int, rank: int, world_size: int) -> range:
    """Contiguous, disjoint share of ``range(num_items)`` for ``rank``; shares differ by at most one."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
    return range(num_items * rank // world_size, num_items * (rank + 1) // world_size)


class ShardSampler(Sampler[int]):
    """Iterates one rank's contiguous shard in order, without padding or repeats."""

    def __init__(self, num_items: int, rank: int, world_size: int):
        self.indices = shard_range(num_items, rank, world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def build_eval_loader(
    dataset: Dataset,
    batch_size: int,
    num_workers: int,
    pin_memory: bool,
    rank: int = 0,
    world_size: int = 1,
) -> DataLoader:
    """Val/test loader over this rank's shard: every entry is seen exactly once over all ranks.

    Its own generator (evaluation draws nothing random) keeps it off the global torch RNG: a
    DataLoader draws its workers' base seed when an iterator starts, which a persistent loader
    does once per process, so drawing it from the global RNG made a resumed process's training
    RNG (dropout) differ from an uninterrupted one's.
    """
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=ShardSampler(len(dataset), rank, world_size),
        shuffle=False,
        drop_last=False,
        num_workers=num_workers,
        pin_memory=pin_memory and torch.cuda.is_available(),
        generator=_generator(0),
        **_worker_options(num_workers),
    )

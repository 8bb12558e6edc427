"""Where a process stands in a run: its device and its place among the run's processes."""
from dataclasses import dataclass

import torch

from slowfast.datasets.errors import DataError
from slowfast.utils import distributed


@dataclass(frozen=True)
class RunContext:
    """A process's device and its place among the run's processes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def check_ranks_agree(count: int, what: str, source: str) -> None:
    """Every rank must see the same list: the sampler's permutation and the shards depend on its length."""
    counts = distributed.gather_ints(count)
    if len(set(counts)) > 1:
        shown = ", ".join(f"rank {rank} has {n}" for rank, n in enumerate(counts))
        raise DataError(
            f"ranks disagree on the number of {what} ({shown}; this rank read {source}); give every "
            "machine the same DATA.PATH_TO_DATA_DIR contents"
        )

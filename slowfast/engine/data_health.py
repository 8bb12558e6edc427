"""Counting training clips whose video failed to decode, and stopping when a batch is mostly substitutes.

A training item returns the index of the video it actually used (a broken video is replaced
by another, see ``datasets/clip_items.py``), and the batch sampler's order is a pure function
of (seed, epoch), so comparing what the sampler asked for with what came back tells, without
any extra field travelling from the loader workers, which samples were substitutes.
"""
from typing import Sequence

import torch

from slowfast.datasets.errors import DataError


class TooManyFailedVideosError(DataError):
    """More than DATA.MAX_FAILED_SHARE of one training batch came from replacement videos."""


class FailedVideoCounter:
    """Per-epoch count of substituted training clips; raises when one batch holds too many."""

    def __init__(self, max_failed_share: float) -> None:
        if not 0.0 <= max_failed_share <= 1.0:
            raise ValueError(f"DATA.MAX_FAILED_SHARE must be in [0, 1], got {max_failed_share}")
        self.max_failed_share = max_failed_share
        self.epoch_count = 0

    def start_epoch(self, already_counted: int = 0) -> None:
        """Reset the count (a run resumed mid-epoch starts from the count it had saved)."""
        self.epoch_count = already_counted

    def check_batch(self, requested: Sequence, used_indices: torch.Tensor, where: str) -> int:
        """Count the batch's substitutes (``requested`` items are ``(index, shape, epoch)`` or ints)."""
        asked = [int(item[0]) if isinstance(item, (tuple, list)) else int(item) for item in requested]
        used = used_indices.tolist()
        if len(asked) != len(used):
            raise RuntimeError(f"the loader returned {len(used)} clips for a batch of {len(asked)} at {where}")
        substituted = sum(a != u for a, u in zip(asked, used))
        self.epoch_count += substituted
        if substituted and substituted > self.max_failed_share * len(asked):
            raise TooManyFailedVideosError(
                f"{substituted} of the {len(asked)} training clips at {where} come from replacement "
                f"videos (their own failed to decode), more than DATA.MAX_FAILED_SHARE="
                f"{self.max_failed_share}; the data looks broken: see the 'Skipping training video' "
                "warnings for the files and reasons, fix or drop them from train.csv"
            )
        return substituted

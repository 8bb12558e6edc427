"""Counting training clips whose video failed to decode, and stopping when too many of them do.

A training item returns the index of the video it actually used (a broken video is replaced
by another, see ``datasets/clip_items.py``), and the batch sampler's order is a pure function
of (seed, epoch), so comparing what the sampler asked for with what came back tells, without
any extra field travelling from the loader workers, which samples were substitutes.

The share of substitutes is judged over the epoch so far, and only once that holds
``MIN_CLIPS_JUDGED`` clips (or the whole epoch, when an epoch has fewer): one unlucky batch of
two clips says nothing about a list, a few hundred clips do.
"""
from typing import Callable, Optional, Sequence

import torch

from slowfast.datasets.errors import DataError

# Clips (over all ranks) an epoch must have drawn before its share of substitutes is judged.
MIN_CLIPS_JUDGED = 256


class TooManyFailedVideosError(DataError):
    """More than DATA.MAX_FAILED_SHARE of an epoch's training clips came from replacement videos."""


class FailedVideoCounter:
    """Counts an epoch's substituted clips and the list's distinct failed videos; judges the share
    against ``max_failed_share`` (DATA.MAX_FAILED_SHARE, in [0, 1]: checked by ``datasets/spec.py``)."""

    def __init__(self, max_failed_share: float, num_videos: int = 0, source: str = "train.csv",
                 min_clips: int = MIN_CLIPS_JUDGED) -> None:
        self.max_failed_share = max_failed_share
        self.num_videos, self.source, self.min_clips = num_videos, source, min_clips
        self.epoch_count = 0  # substituted clips this epoch (this rank)
        self.epoch_requested = 0  # clips asked for this epoch (this rank)
        self.epoch_clips = 0  # clips the whole epoch asks for (all ranks)
        self.failed_videos: set[int] = set()  # list indices seen failing so far in the run (this rank)

    def start_epoch(self, epoch_clips: int, resumed: bool = False) -> None:
        """Start counting an epoch of ``epoch_clips`` clips (all ranks) from zero, or, for the
        epoch a run ``resumed`` in, from the counts :meth:`load_state` restored."""
        if not resumed:
            self.epoch_count, self.epoch_requested = 0, 0
        self.epoch_clips = epoch_clips

    def state(self) -> dict:
        """What a checkpoint keeps (plain Python): the epoch's counts so far and the failed files."""
        return {"skipped_videos": self.epoch_count, "requested_clips": self.epoch_requested,
                "failed_videos": sorted(self.failed_videos)}

    def load_state(self, state: dict) -> None:
        """Continue from :meth:`state`; a key the state lacks counts as 0."""
        self.epoch_count, self.epoch_requested = state.get("skipped_videos", 0), state.get("requested_clips", 0)
        self.failed_videos.update(int(i) for i in state.get("failed_videos", ()))

    def check_batch(self, requested: Sequence, used_indices: torch.Tensor, where: str) -> list[int]:
        """Count the batch's substitutes (``requested`` items are ``(index, shape, epoch)`` or ints);
        returns the list indices seen failing for the first time."""
        asked = [int(item[0]) if isinstance(item, (tuple, list)) else int(item) for item in requested]
        used = used_indices.tolist()
        if len(asked) != len(used):
            raise RuntimeError(f"the loader returned {len(used)} clips for a batch of {len(asked)} at {where}")
        failed = [a for a, u in zip(asked, used) if a != u]
        new = sorted(set(failed) - self.failed_videos)
        self.failed_videos.update(failed)
        self.epoch_count += len(failed)
        self.epoch_requested += len(asked)
        return new

    def judge(self, where: str, sum_over_ranks: Optional[Callable[[list[int]], list[int]]] = None) -> None:
        """Raise when enough clips were drawn this epoch and more than the allowed share were substitutes.

        ``sum_over_ranks`` adds the counts of all ranks (every rank must call it at the same point).
        """
        counts = [self.epoch_count, self.epoch_requested]
        substituted, requested = sum_over_ranks(counts) if sum_over_ranks else counts
        # Distinct files are counted per rank (ranks draw different clips; a sum could count twice).
        failed_files = f"{len(self.failed_videos)}{' (seen by this rank)' if sum_over_ranks else ''}"
        enough = requested >= min(self.min_clips, self.epoch_clips or self.min_clips)
        if not (enough and substituted > self.max_failed_share * requested):
            return
        raise TooManyFailedVideosError(
            f"{substituted} of the {requested} training clips of {where} come from replacement videos "
            f"(their own failed to decode), more than DATA.MAX_FAILED_SHARE={self.max_failed_share}; "
            f"{failed_files} of the {self.num_videos} files in {self.source} have failed so far: see the "
            "'Skipping training video' warnings for the files and reasons, fix or drop them"
        )

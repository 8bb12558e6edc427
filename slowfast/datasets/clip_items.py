"""What every clip dataset does with an item: unpack it, seed its draws, replace broken videos, map test entries."""
import logging
from collections import Counter
from typing import Callable, Optional, TypeVar, Union

import numpy as np
import torch

from slowfast.datasets.decoder import VideoDecodeError
from slowfast.multigrid.shape import ClipShape

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
# How many other videos a training item tries before deciding the data is broken.
MAX_REPLACEMENTS = 10

Item = Union[int, tuple[int, ClipShape], tuple[int, ClipShape, int]]
Sample = TypeVar("Sample")


def unpack_item(item: Item) -> tuple[int, Optional[ClipShape], Optional[int]]:
    """``index`` or ``(index, shape)`` or ``(index, shape, draw)`` to a triple."""
    if isinstance(item, (tuple, list)):
        if len(item) == 2:
            return int(item[0]), item[1], None
        if len(item) == 3:
            return int(item[0]), item[1], int(item[2])
        raise ValueError(f"dataset item must be index, (index, ClipShape) or (index, ClipShape, draw), got {item!r}")
    return int(item), None, None


def train_generators(
    seed: int, index: int, draw: Optional[int], draws_per_index: Counter
) -> tuple[np.random.Generator, np.random.Generator]:
    """(augmentation, replacement) generators of one training item.

    With ``draw`` (the sampler's epoch) they depend on (seed, index, draw) only, so workers and
    processes do not matter and a resumed run repeats them. Without it, the worker's
    ``torch.initial_seed()`` and the number of earlier draws of this index (counted in
    ``draws_per_index``) are used, so persistent workers still vary augmentations across epochs.
    """
    if draw is None:
        draw = draws_per_index[index]
        draws_per_index[index] += 1
        parts = [seed, torch.initial_seed(), index, draw]
    else:
        parts = [seed, index, draw]
    return np.random.default_rng(parts + [0]), np.random.default_rng(parts + [1])


def load_with_replacements(
    load: Callable[[int], Sample], index: int, num_videos: int, rng: np.random.Generator, list_path: str
) -> Sample:
    """``load(index)``; while it raises VideoDecodeError, warn and try another random video instead."""
    video = index
    for attempt in range(MAX_REPLACEMENTS + 1):
        try:
            return load(video)
        except VideoDecodeError as error:
            logger.warning("Skipping training video %s: %s", error.path, error.reason)
        if num_videos == 1:
            break
        video = (video + 1 + int(rng.integers(num_videos - 1))) % num_videos
    raise RuntimeError(
        f"training item {index} and {attempt} replacement videos in {list_path} all failed "
        "to decode; the data seems broken (see the warnings above for paths and reasons)"
    )


def locate_test_entry(entry: int, num_views: int, num_crops: int) -> tuple[int, int, int]:
    """``(video, temporal view, spatial index)`` of a test entry ``video * V * C + view * C + crop``.

    The spatial index is the crop's (0/1/2 = left/centre/right) with 3 crops, and the centre (1)
    with a single crop (PySlowFast takes the left one there).
    """
    video, position = divmod(entry, num_views * num_crops)
    view, crop = divmod(position, num_crops)
    return video, view, 1 if num_crops == 1 else crop

"""The item flow every video dataset shares: train items shaped by the sampler, val and test views.

A subclass says where a clip's frames come from, at the short side the clip needs
(``scaled_train_frames``, ``scaled_eval_frames``: Kinetics decodes straight to it, frame folders
read and resize), how many videos it has, and what a failed val/test entry is labelled; this
class does the rest the same way for Kinetics videos and SSv2/Charades frame folders alike.
"""
import logging
from abc import ABC, abstractmethod
from collections import Counter
from typing import Optional, Union

import numpy as np
import torch

from slowfast.datasets.clip_items import (
    SPLITS,
    Item,
    load_with_replacements,
    locate_test_entry,
    train_generators,
    unpack_item,
)
from slowfast.datasets.decoder import VideoDecodeError
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.transforms import crop_and_flip, to_clip_tensor, uniform_crop
from slowfast.multigrid.shape import ClipShape

logger = logging.getLogger(__name__)

Label = Union[int, torch.Tensor]


class ClipDataset(torch.utils.data.Dataset, ABC):
    """Items give ``(clip uint8 [3,T,H,W], label, index)``.

    Train: one entry per video; the item ``(index, ClipShape[, draw])`` sets frames, crop,
    sampling-rate range and jitter (a plain index trains at the config's full shape); the
    returned index is the video actually used, since a broken video is replaced by another.
    Val: one centre clip and centre crop per video at the full shape. Test: ``views * crops``
    entries per video, entry = ``video * views * crops + view * crops + crop`` (a single crop
    is the centre one). A val/test video that cannot be read yields a zero clip and
    ``_failed_label()``.

    Augmentation draws come from a generator seeded by (``options.seed``, index, draw) where
    ``draw`` is the optional third item element (the sampler passes the epoch), so they do not
    depend on workers or processes and a resumed run repeats them. Without it, the worker's
    ``torch.initial_seed()`` and the number of earlier draws of this index in this process are
    used, so that persistent workers still vary augmentations across epochs.
    """

    def __init__(self, split: str, options: DatasetOptions, source: str):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.split, self.options = split, options
        self.source = source  # the list file the videos come from, named in errors
        self.entries_per_video = options.num_ensemble_views * options.num_spatial_crops if split == "test" else 1
        self._draws_per_index: Counter = Counter()

    @property
    @abstractmethod
    def num_videos(self) -> int:
        """Number of videos in the split."""

    @abstractmethod
    def scaled_train_frames(self, video: int, shape: ClipShape, rng: np.random.Generator) -> tuple[np.ndarray, Label]:
        """Frames ``[T, H, W, 3]`` of a training clip of ``shape`` and its label, before crop and flip:
        the temporal draws from ``rng``, then the short side at the scale jitter drawn from it
        (``shape.jitter_scales``)."""

    @abstractmethod
    def scaled_eval_frames(self, video: int, view: int, num_views: int, short_side: int) -> tuple[np.ndarray, Label]:
        """Frames of temporal view ``view`` of ``num_views`` (val: view 0 of 1, the centre) with the
        short side at ``short_side``, and its label."""

    def _failed_label(self) -> Label:
        """What a val/test entry whose video cannot be read carries as its label."""
        return -1

    def __len__(self) -> int:
        return self.num_videos * self.entries_per_video

    def __getitem__(self, item: Item) -> tuple[torch.Tensor, Label, int]:
        index, shape, draw = unpack_item(item)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} entries of {self.source}")
        if self.split == "train":
            return self._train_item(index, shape or self.options.full_train_shape, draw)
        return self._eval_item(index)

    def _train_item(self, index: int, shape: ClipShape, draw: Optional[int]) -> tuple[torch.Tensor, Label, int]:
        augmentation_rng, replacement_rng = train_generators(self.options.seed, index, draw, self._draws_per_index)

        def load(video: int) -> tuple[torch.Tensor, Label, int]:
            # Draws: temporal and scale jitter (in scaled_train_frames), crop, flip: augment_train's order.
            frames, label = self.scaled_train_frames(video, shape, augmentation_rng)
            frames = crop_and_flip(frames, augmentation_rng, shape.crop_size, self.options.random_flip)
            return to_clip_tensor(frames), label, video

        return load_with_replacements(load, index, self.num_videos, replacement_rng, self.source)

    def _eval_item(self, entry: int) -> tuple[torch.Tensor, Label, int]:
        options = self.options
        if self.split == "test":
            video, view, spatial_index = locate_test_entry(entry, options.num_ensemble_views, options.num_spatial_crops)
            num_views = options.num_ensemble_views
            short_side = crop_size = options.test_crop_size
        else:
            video, view, spatial_index = entry, 0, 1
            num_views, short_side, crop_size = 1, options.train_jitter_scales[0], options.train_crop_size
        try:
            frames, label = self.scaled_eval_frames(video, view, num_views, short_side)
        except VideoDecodeError as error:
            logger.warning("Counting %s video %s as failed: %s", self.split, error.path, error.reason)
            failed = torch.zeros((3, options.num_frames, crop_size, crop_size), dtype=torch.uint8)
            return failed, self._failed_label(), entry
        return to_clip_tensor(uniform_crop(frames, crop_size, spatial_index)), label, entry

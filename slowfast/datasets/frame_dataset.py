"""The item flow shared by the frame-folder datasets (SSv2, Charades): frames read with OpenCV."""
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
from slowfast.datasets.frame_list import FrameList, read_frames
from slowfast.datasets.kinetics import KineticsOptions
from slowfast.datasets.transforms import augment_train, crop_for_eval, to_clip_tensor
from slowfast.multigrid.shape import ClipShape

logger = logging.getLogger(__name__)

Label = Union[int, torch.Tensor]


class FrameListDataset(torch.utils.data.Dataset, ABC):
    """Videos stored as frame folders; items give ``(clip uint8 [3,T,H,W], label, index)``.

    Clips keep OpenCV's BGR channel order; DATA.REVERSE_INPUT_CHANNEL turns them to RGB when the
    batch becomes model input (as PySlowFast). Items follow the Kinetics dataset: train items are
    ``(index, ClipShape[, draw])`` with broken videos replaced by others; val is one centre clip and
    centre crop per video; test has ``views * crops`` entries per video
    (``video * views * crops + view * crops + crop``, a single crop being the centre one). A
    val/test video with a missing or unreadable frame yields a zero clip and a failed label.

    Subclasses choose frame indices and labels: ``_train_indices``, ``_eval_indices``, ``_label``
    and ``_failed_label``.
    """

    def __init__(self, data_dir: str, split: str, options: KineticsOptions, frames: FrameList, rows: np.ndarray):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.data_dir, self.split, self.options = data_dir, split, options
        self.frames = frames
        self._rows = rows  # frame-list video of each dataset video
        self.entries_per_video = options.num_ensemble_views * options.num_spatial_crops if split == "test" else 1
        self._draws_per_index: Counter = Counter()

    @property
    def num_videos(self) -> int:
        """Number of videos in the split."""
        return len(self._rows)

    def video_id(self, video: int) -> str:
        """``original_vido_id`` of a video."""
        return str(self.frames.video_ids[self._rows[video]])

    def num_video_frames(self, video: int) -> int:
        """Number of frames listed for a video."""
        return self.frames.num_frames(int(self._rows[video]))

    def __len__(self) -> int:
        return self.num_videos * self.entries_per_video

    def __getitem__(self, item: Item) -> tuple[torch.Tensor, Label, int]:
        index, shape, draw = unpack_item(item)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} entries of {self.frames.csv_path}")
        if self.split == "train":
            return self._train_item(index, shape or self.options.full_train_shape, draw)
        return self._eval_item(index)

    def _train_item(self, index: int, shape: ClipShape, draw: Optional[int]) -> tuple[torch.Tensor, Label, int]:
        augmentation_rng, replacement_rng = train_generators(self.options.seed, index, draw, self._draws_per_index)
        options = self.options

        def load(video: int) -> tuple[torch.Tensor, Label, int]:
            indices = self._train_indices(video, shape, augmentation_rng)
            frames = augment_train(
                self._read(video, indices), augmentation_rng, shape.jitter_scales, shape.crop_size,
                options.inverse_uniform_scale, options.random_flip,
            )
            return to_clip_tensor(frames), self._label(video, indices), video

        return load_with_replacements(load, index, self.num_videos, replacement_rng, self.frames.csv_path)

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
            indices = self._eval_indices(video, view, num_views)
            frames = crop_for_eval(self._read(video, indices), short_side, crop_size, spatial_index)
        except VideoDecodeError as error:
            logger.warning("Counting %s video %s as failed: %s", self.split, error.path, error.reason)
            failed = torch.zeros((3, options.num_frames, crop_size, crop_size), dtype=torch.uint8)
            return failed, self._failed_label(), entry
        return to_clip_tensor(frames), self._label(video, indices), entry

    def _read(self, video: int, indices: np.ndarray) -> np.ndarray:
        return read_frames(self.frames, int(self._rows[video]), indices)

    @abstractmethod
    def _train_indices(self, video: int, shape: ClipShape, rng: np.random.Generator) -> np.ndarray:
        """Frame indices of a training clip of ``shape``."""

    @abstractmethod
    def _eval_indices(self, video: int, view: int, num_views: int) -> np.ndarray:
        """Frame indices of temporal view ``view`` of ``num_views`` (val: view 0 of 1)."""

    @abstractmethod
    def _label(self, video: int, indices: np.ndarray) -> Label:
        """Target of a clip made of frames ``indices`` of ``video``."""

    @abstractmethod
    def _failed_label(self) -> Label:
        """What a val/test entry whose frames cannot be read carries as its label."""

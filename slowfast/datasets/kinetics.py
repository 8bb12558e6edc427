"""Kinetics-format video dataset: uint8 clips shaped by the ``ClipShape`` the batch sampler sends."""
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Optional

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
from slowfast.datasets.decoder import (
    CENTRE_START,
    VideoDecodeError,
    clip_frame_indices,
    decode_clip,
    random_start,
    ensemble_view_start,
)
from slowfast.datasets.transforms import augment_train, crop_for_eval, to_clip_tensor
from slowfast.datasets.video_list import read_video_list
from slowfast.multigrid.shape import ClipShape

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KineticsOptions:
    """Everything the dataset reads, named after the config keys they come from."""

    num_classes: int  # MODEL.NUM_CLASSES
    path_prefix: str = ""  # DATA.PATH_PREFIX
    separator: str = " "  # DATA.PATH_LABEL_SEPARATOR
    num_frames: int = 8  # DATA.NUM_FRAMES
    sampling_rate: int = 8  # DATA.SAMPLING_RATE
    target_fps: float = 30.0  # DATA.TARGET_FPS
    train_jitter_scales: tuple[int, int] = (256, 320)  # DATA.TRAIN_JITTER_SCALES
    train_crop_size: int = 224  # DATA.TRAIN_CROP_SIZE
    test_crop_size: int = 256  # DATA.TEST_CROP_SIZE
    num_ensemble_views: int = 10  # TEST.NUM_ENSEMBLE_VIEWS
    num_spatial_crops: int = 3  # TEST.NUM_SPATIAL_CROPS
    random_flip: bool = True  # DATA.RANDOM_FLIP
    inverse_uniform_scale: bool = False  # DATA.INV_UNIFORM_SAMPLE
    multi_thread_decode: bool = False  # DATA_LOADER.ENABLE_MULTI_THREAD_DECODE
    seed: int = 0  # RNG_SEED

    def __post_init__(self):
        if self.num_spatial_crops not in (1, 3):
            raise ValueError(f"TEST.NUM_SPATIAL_CROPS must be 1 or 3, got {self.num_spatial_crops}")
        if self.num_ensemble_views < 1:
            raise ValueError(f"TEST.NUM_ENSEMBLE_VIEWS must be >= 1, got {self.num_ensemble_views}")

    @property
    def full_train_shape(self) -> ClipShape:
        """The baseline training shape, used for plain-int training items (e.g. precise BN)."""
        return ClipShape(
            num_frames=self.num_frames,
            crop_size=self.train_crop_size,
            sampling_rate=(self.sampling_rate, self.sampling_rate),
            jitter_scales=tuple(self.train_jitter_scales),
        )


class Kinetics(torch.utils.data.Dataset):
    """Videos listed in ``{data_dir}/{split}.csv``; items give ``(clip uint8 [3,T,H,W], label, index)``.

    Train: one entry per video; the item ``(index, ClipShape[, draw])`` sets frames, crop,
    sampling-rate range and jitter; returns the index of the video actually used (a broken
    video is replaced by another). Val: one centre clip and centre crop per video. Test:
    ``views * crops`` entries per video, entry = ``video * views * crops + view * crops + crop``.
    A video that fails to decode in val/test yields a zero clip with label -1.

    Augmentation draws come from a generator seeded by (``options.seed``, index, draw) where
    ``draw`` is the optional third item element (the sampler passes the epoch), so they do not
    depend on workers or processes and a resumed run repeats them. Without it, the worker's
    ``torch.initial_seed()`` and the number of earlier draws of this index in this process are
    used, so that persistent workers still vary augmentations across epochs.
    """

    def __init__(self, data_dir: str, split: str, options: KineticsOptions):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.data_dir = data_dir
        self.split = split
        self.options = options
        self._paths, self._labels = read_video_list(
            data_dir, split, options.separator, options.num_classes, options.path_prefix
        )
        self.entries_per_video = options.num_ensemble_views * options.num_spatial_crops if split == "test" else 1
        self._draws_per_index: Counter = Counter()

    @property
    def num_videos(self) -> int:
        """Number of videos listed in the CSV."""
        return len(self._paths)

    @property
    def labels(self) -> np.ndarray:
        """Label of every video, in CSV order."""
        return self._labels

    def video_path(self, video_index: int) -> str:
        """Resolved path of a video."""
        return str(self._paths[video_index])

    def __len__(self) -> int:
        return self.num_videos * self.entries_per_video

    def __getitem__(self, item: Item) -> tuple[torch.Tensor, int, int]:
        index, shape, draw = unpack_item(item)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} entries of {self.split}.csv")
        if self.split == "train":
            return self._train_item(index, shape or self.options.full_train_shape, draw)
        return self._eval_item(index)

    # Training --------------------------------------------------------------------------------

    def _train_item(self, index: int, shape: ClipShape, draw: Optional[int]) -> tuple[torch.Tensor, int, int]:
        augmentation_rng, replacement_rng = train_generators(self.options.seed, index, draw, self._draws_per_index)

        def load(video: int) -> tuple[torch.Tensor, int, int]:
            return self._train_clip(video, shape, augmentation_rng), int(self._labels[video]), video

        return load_with_replacements(load, index, self.num_videos, replacement_rng, f"{self.data_dir}/train.csv")

    def _train_clip(self, video: int, shape: ClipShape, rng: np.random.Generator) -> torch.Tensor:
        low, high = shape.sampling_rate
        sampling_rate = int(rng.integers(low, high + 1))
        start = random_start(rng)
        frames = self._decode(video, shape.num_frames, sampling_rate, start)
        options = self.options
        frames = augment_train(
            frames, rng, shape.jitter_scales, shape.crop_size, options.inverse_uniform_scale, options.random_flip
        )
        return to_clip_tensor(frames)

    # Evaluation ------------------------------------------------------------------------------

    def _eval_item(self, entry: int) -> tuple[torch.Tensor, int, int]:
        video = entry // self.entries_per_video
        try:
            clip = self._test_clip(entry) if self.split == "test" else self._val_clip(video)
        except VideoDecodeError as error:
            logger.warning("Counting %s video %s as failed: %s", self.split, error.path, error.reason)
            return self._failed_clip(), -1, entry
        return clip, int(self._labels[video]), entry

    def _val_clip(self, video: int) -> torch.Tensor:
        options = self.options
        frames = self._decode(video, options.num_frames, options.sampling_rate, CENTRE_START)
        return to_clip_tensor(crop_for_eval(frames, options.train_jitter_scales[0], options.train_crop_size))

    def _test_clip(self, entry: int) -> torch.Tensor:
        options = self.options
        video, view, spatial_index = locate_test_entry(entry, options.num_ensemble_views, options.num_spatial_crops)
        start = ensemble_view_start(view, options.num_ensemble_views)
        frames = self._decode(video, options.num_frames, options.sampling_rate, start)
        return to_clip_tensor(crop_for_eval(frames, options.test_crop_size, options.test_crop_size, spatial_index))

    def _failed_clip(self) -> torch.Tensor:
        crop = self.options.test_crop_size if self.split == "test" else self.options.train_crop_size
        return torch.zeros((3, self.options.num_frames, crop, crop), dtype=torch.uint8)

    def _decode(self, video: int, num_frames: int, sampling_rate: int, start_fraction: float) -> np.ndarray:
        target_fps = self.options.target_fps

        def choose_indices(info):
            return clip_frame_indices(info.frame_count, info.fps, num_frames, sampling_rate, target_fps, start_fraction)

        return decode_clip(self.video_path(video), choose_indices, self.options.multi_thread_decode)

"""Charades in PySlowFast's layout: frame lists with per-frame labels, multi-label targets.

``DATA.PATH_TO_DATA_DIR`` holds the frame lists ``train.csv`` and ``val.csv`` (val and test both
use ``val.csv``); the last column of each row lists the classes active at that frame. A clip
takes T frames ``sampling_rate`` apart (the rate drawn from the long cycle's range); its training
target is the union of the labels of the frames it spans, its val/test target the union over the
whole video, as a 0/1 float vector of MODEL.NUM_CLASSES.
"""
import numpy as np
import torch

from slowfast.datasets.frame_dataset import FrameListDataset
from slowfast.datasets.frame_list import read_frame_list
from slowfast.datasets.options import DatasetOptions
from slowfast.multigrid.shape import ClipShape

FRAME_LISTS = {"train": "train.csv", "val": "val.csv", "test": "val.csv"}


def clip_length(num_frames: int, sampling_rate: int) -> int:
    """Frames a clip spans: ``(T - 1) * rate + 1``."""
    return (num_frames - 1) * sampling_rate + 1


def random_clip_start(num_video_frames: int, span: int, rng: np.random.Generator) -> int:
    """Uniform start over every position; negative (the clip then repeats frame 0) when the video is shorter."""
    low, high = sorted((0, num_video_frames - span))
    return int(rng.integers(low, high + 1))


def view_clip_start(num_video_frames: int, span: int, view: int, num_views: int) -> int:
    """Start of test view ``view``: views spread evenly from the first to the last start (one view: centre)."""
    room = max(num_video_frames - span, 0)
    if num_views == 1:
        return int(round(room / 2))
    gap = float(room) / (num_views - 1)
    return int(round(gap * view))


def strided_frame_indices(num_video_frames: int, start: int, num_frames: int, sampling_rate: int) -> np.ndarray:
    """``start + i * rate`` for i < T, clamped to the video's frames."""
    return np.clip(start + sampling_rate * np.arange(num_frames), 0, num_video_frames - 1)


def multi_hot(class_ids: np.ndarray, num_classes: int) -> torch.Tensor:
    """float32 ``[num_classes]`` with 1 at ``class_ids``."""
    target = torch.zeros(num_classes, dtype=torch.float32)
    target[torch.as_tensor(np.asarray(class_ids, dtype=np.int64))] = 1.0
    return target


class Charades(FrameListDataset):
    """Charades: multi-label (float 0/1 targets), strided clips, frames read with OpenCV (BGR)."""

    def __init__(self, data_dir: str, split: str, options: DatasetOptions):
        if split not in FRAME_LISTS:
            raise ValueError(f"split must be one of {tuple(FRAME_LISTS)}, got {split!r}")
        frames = read_frame_list(data_dir, FRAME_LISTS[split], options.path_prefix, options.num_classes)
        super().__init__(data_dir, split, options, frames, np.arange(frames.num_videos))

    def video_labels(self, video: int) -> np.ndarray:
        """Class ids active anywhere in ``video``."""
        return self.frames.video_labels(int(self._rows[video]))

    def _train_indices(self, video: int, shape: ClipShape, rng: np.random.Generator) -> np.ndarray:
        low, high = shape.sampling_rate
        sampling_rate = int(rng.integers(low, high + 1))
        length = self.num_video_frames(video)
        start = random_clip_start(length, clip_length(shape.num_frames, sampling_rate), rng)
        return strided_frame_indices(length, start, shape.num_frames, sampling_rate)

    def _eval_indices(self, video: int, view: int, num_views: int) -> np.ndarray:
        options = self.options
        length = self.num_video_frames(video)
        start = view_clip_start(length, clip_length(options.num_frames, options.sampling_rate), view, num_views)
        return strided_frame_indices(length, start, options.num_frames, options.sampling_rate)

    def _label(self, video: int, indices: np.ndarray) -> torch.Tensor:
        row = int(self._rows[video])
        if self.split == "train":
            class_ids = self.frames.labels_of_span(row, int(indices[0]), int(indices[-1]))
        else:
            class_ids = self.frames.video_labels(row)
        return multi_hot(class_ids, self.options.num_classes)

    def _failed_label(self) -> torch.Tensor:
        return torch.full((self.options.num_classes,), -1.0)

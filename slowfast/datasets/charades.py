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
from slowfast.datasets.temporal_sampling import strided_train_indices, strided_view_indices
from slowfast.multigrid.shape import ClipShape

FRAME_LISTS = {"train": "train.csv", "val": "val.csv", "test": "val.csv"}


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
        return strided_train_indices(self.num_video_frames(video), shape.num_frames, shape.sampling_rate, rng)

    def _eval_indices(self, video: int, view: int, num_views: int) -> np.ndarray:
        options = self.options
        return strided_view_indices(
            self.num_video_frames(video), options.num_frames, options.sampling_rate, view, num_views
        )

    def _label(self, video: int, indices: np.ndarray) -> torch.Tensor:
        row = int(self._rows[video])
        if self.split == "train":
            class_ids = self.frames.labels_of_span(row, int(indices[0]), int(indices[-1]))
        else:
            class_ids = self.frames.video_labels(row)
        return multi_hot(class_ids, self.options.num_classes)

    def _failed_label(self) -> torch.Tensor:
        return torch.full((self.options.num_classes,), -1.0)

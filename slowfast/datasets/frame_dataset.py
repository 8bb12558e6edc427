"""The frame-folder datasets (SSv2, Charades): frame lists, frames read with OpenCV."""
from abc import abstractmethod
from collections.abc import Iterator

import numpy as np

from slowfast.datasets.clip_dataset import ClipDataset, Label
from slowfast.datasets.frame_list import FrameList, read_frames
from slowfast.datasets.listed_files import check_listed_files
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.transforms import random_short_side_scale_jitter, short_side_resize
from slowfast.multigrid.shape import ClipShape


class FrameListDataset(ClipDataset):
    """Videos stored as frame folders, listed in a PySlowFast frame list.

    Clips keep OpenCV's BGR channel order; DATA.REVERSE_INPUT_CHANNEL turns them to RGB when the
    batch becomes model input (as PySlowFast). A missing or unreadable frame fails the video.
    Subclasses choose frame indices and labels: ``_train_indices``, ``_eval_indices`` and ``_label``.
    """

    def __init__(self, data_dir: str, split: str, options: DatasetOptions, frames: FrameList, rows: np.ndarray):
        super().__init__(split, options, frames.csv_path)
        self.data_dir = data_dir
        self.frames = frames
        self._rows = rows  # frame-list video of each dataset video
        if options.max_missing_share is not None:
            check_listed_files(self.listed_files(), self.source, options.path_prefix, options.max_missing_share)

    @property
    def num_videos(self) -> int:
        """Number of videos in the split."""
        return len(self._rows)

    def video_id(self, video: int) -> str:
        """``original_vido_id`` of a video."""
        return str(self.frames.video_ids[self._rows[video]])

    def listed_files(self) -> Iterator[str]:
        """The file each video needs, in dataset order: its first listed frame."""
        return (self.frames.frame_path(int(row), 0) for row in self._rows)

    def num_video_frames(self, video: int) -> int:
        """Number of frames listed for a video."""
        return self.frames.num_frames(int(self._rows[video]))

    def scaled_train_frames(self, video: int, shape: ClipShape, rng: np.random.Generator) -> tuple[np.ndarray, Label]:
        """Frames read at the stored size, then resized to the jitter short side drawn after the indices."""
        indices = self._train_indices(video, shape, rng)
        low, high = shape.jitter_scales
        frames = random_short_side_scale_jitter(self._read(video, indices), rng, low, high,
                                                self.options.inverse_uniform_scale)
        return frames, self._label(video, indices)

    def scaled_eval_frames(self, video: int, view: int, num_views: int, short_side: int) -> tuple[np.ndarray, Label]:
        """Frames read at the stored size, then resized to ``short_side``."""
        indices = self._eval_indices(video, view, num_views)
        return short_side_resize(self._read(video, indices), short_side), self._label(video, indices)

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

"""Kinetics-format video dataset: uint8 clips shaped by the ``ClipShape`` the batch sampler sends."""
import hashlib
import os

import numpy as np

from slowfast.datasets.clip_dataset import ClipDataset
from slowfast.datasets.decoder import clip_frame_indices, decode_clip, ensemble_view_start, random_start
from slowfast.datasets.frame_cache import DecodedVideoCache
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.video_list import read_video_list
from slowfast.multigrid.shape import ClipShape


class Kinetics(ClipDataset):
    """Videos listed in ``{data_dir}/{split}.csv`` (``path label`` lines), decoded with PyAV.

    A training clip draws its sampling rate from the shape's range and its start uniformly over
    the video; val takes the centre clip; test views spread from the start to the end.
    """

    def __init__(self, data_dir: str, split: str, options: DatasetOptions):
        super().__init__(split, options, f"{data_dir}/{split}.csv")
        self.data_dir = data_dir
        self._paths, self._labels = read_video_list(
            data_dir, split, options.separator, options.num_classes, options.path_prefix
        )
        self._decoded = DecodedVideoCache({})
        if options.decoded_cache_gb > 0:
            self._decoded = DecodedVideoCache.fill(
                [str(path) for path in self._paths], int(options.decoded_cache_gb * 2**30),
                options.num_workers, name=self.source, store=self._decoded_store(),
            )

    def _decoded_store(self) -> str | None:
        """Where this list's decoded frames are kept between runs (one store per data folder and
        split in DATA.DECODED_CACHE_DIR), or None to decode into memory each run."""
        if not self.options.decoded_cache_dir:
            return None
        folder = hashlib.sha1(os.path.abspath(self.data_dir).encode()).hexdigest()[:8]
        return os.path.join(self.options.decoded_cache_dir, f"{self.split}-{folder}")

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

    def _train_frames(self, video: int, shape: ClipShape, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        low, high = shape.sampling_rate
        sampling_rate = int(rng.integers(low, high + 1))
        frames = self._decode(video, shape.num_frames, sampling_rate, random_start(rng))
        return frames, int(self._labels[video])

    def _eval_frames(self, video: int, view: int, num_views: int) -> tuple[np.ndarray, int]:
        options = self.options
        frames = self._decode(video, options.num_frames, options.sampling_rate, ensemble_view_start(view, num_views))
        return frames, int(self._labels[video])

    def _decode(self, video: int, num_frames: int, sampling_rate: int, start_fraction: float) -> np.ndarray:
        target_fps = self.options.target_fps

        def choose_indices(info):
            return clip_frame_indices(info.frame_count, info.fps, num_frames, sampling_rate, target_fps, start_fraction)

        cached = self._decoded.clip(video, choose_indices)
        if cached is not None:
            return cached
        return decode_clip(self.video_path(video), choose_indices, self.options.multi_thread_decode)

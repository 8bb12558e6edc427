"""Kinetics-format video dataset: uint8 clips shaped by the ``ClipShape`` the batch sampler sends."""
import hashlib
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from typing import Optional

import numpy as np

from slowfast.datasets.clip_dataset import ClipDataset
from slowfast.datasets.decoder import VideoDecodeError, decode_clip, read_video_info
from slowfast.datasets.errors import DataError
from slowfast.datasets.frame_cache import DecodedVideoCache
from slowfast.datasets.listed_files import check_listed_files
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.prepared import MANIFEST_NAME, PreparedManifest
from slowfast.datasets.temporal_sampling import (
    clip_frame_indices,
    draw_sampling_rate,
    ensemble_view_start,
    random_start,
)
from slowfast.datasets.transforms import jitter_short_side, short_side_resize
from slowfast.datasets.video_list import read_video_list
from slowfast.multigrid.shape import ClipShape

logger = logging.getLogger(__name__)


class Kinetics(ClipDataset):
    """Videos listed in ``{data_dir}/{split}.csv`` (``path label`` lines), decoded with PyAV.

    A training clip draws its sampling rate from the shape's range and its start uniformly over
    the video; val takes the centre clip; test views spread from the start to the end. In a
    folder written by tools/prepare_videos.py (``prepared.json``), a clip is read from the copy
    ``choose_copy_short_side`` picks for the bottom of its jitter range (val and test: for their
    short side), and the copies this split can read are checked once when it is built.
    """

    def __init__(self, data_dir: str, split: str, options: DatasetOptions):
        super().__init__(split, options, f"{data_dir}/{split}.csv")
        self.data_dir = data_dir
        self._paths, self._labels = read_video_list(
            data_dir, split, options.separator, options.num_classes, options.path_prefix
        )
        if options.max_missing_share is not None:  # before anything reads the videos
            check_listed_files(self.listed_files(), self.source, options.path_prefix, options.max_missing_share)
        self._manifest = PreparedManifest.read(data_dir)
        if self._manifest is not None and self._reads_copies():
            check_prepared_copies(
                [str(path) for path in self._paths], self._manifest, f"{data_dir}/{MANIFEST_NAME}", self.source,
                options.num_workers,
            )
        self._decoded = DecodedVideoCache({})
        if options.decoded_cache_gb > 0:
            self._decoded = DecodedVideoCache.fill(
                [str(path) for path in self._paths], int(options.decoded_cache_gb * 2**30),
                options.num_workers, name=self.source, store=self._decoded_store(),
            )

    def _reads_copies(self) -> bool:
        """Whether clips of this split can come from a copy other than the primary."""
        sides = self._manifest.short_sides
        if self.split == "train":
            return len(sides) > 1
        eval_side = self.options.test_crop_size if self.split == "test" else self.options.train_jitter_scales[0]
        return choose_copy_short_side(sides, eval_side) != max(sides)

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

    def listed_files(self) -> Iterator[str]:
        """The file each video needs, in list order: the video itself."""
        return (str(path) for path in self._paths)

    def scaled_train_frames(self, video: int, shape: ClipShape, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """Decoded straight at the drawn jitter short side; draws in ``augment_train``'s order."""
        sampling_rate = draw_sampling_rate(rng, shape.sampling_rate)
        start = random_start(rng)
        before_jitter = rng.bit_generator.state
        short_side = jitter_short_side(rng, *shape.jitter_scales, self.options.inverse_uniform_scale)
        try:
            frames = self._decode(video, shape.num_frames, sampling_rate, start, short_side, shape.jitter_scales[0])
        except VideoDecodeError:
            # Draw the jitter after a decode failure, as when it came after decoding, so a
            # replacement video gets the draws it always got.
            rng.bit_generator.state = before_jitter
            raise
        return frames, int(self._labels[video])

    def scaled_eval_frames(self, video: int, view: int, num_views: int, short_side: int) -> tuple[np.ndarray, int]:
        """Decoded straight at ``short_side``, from the copy chosen for it."""
        options = self.options
        start = ensemble_view_start(view, num_views)
        frames = self._decode(video, options.num_frames, options.sampling_rate, start, short_side, short_side)
        return frames, int(self._labels[video])

    def _decode(
        self, video: int, num_frames: int, sampling_rate: int, start_fraction: float, short_side: int,
        copy_short_side: int,
    ) -> np.ndarray:
        """The clip's frames at ``short_side``, read from the prepared copy chosen for ``copy_short_side``."""
        target_fps = self.options.target_fps

        def choose_indices(info):
            return clip_frame_indices(info.frame_count, info.fps, num_frames, sampling_rate, target_fps, start_fraction)

        cached = self._decoded.clip(video, choose_indices)
        if cached is not None:  # stored-size frames
            return short_side_resize(cached, short_side)
        path = self._copy_path(video, copy_short_side)
        return decode_clip(path, choose_indices, self.options.multi_thread_decode, short_side)

    def _copy_path(self, video: int, copy_short_side: int) -> str:
        """The file to read ``video`` from for a clip whose jitter range starts at ``copy_short_side``."""
        primary = self.video_path(video)
        if self._manifest is None:
            return primary
        return self._manifest.path_for(primary, choose_copy_short_side(self._manifest.short_sides, copy_short_side))


def choose_copy_short_side(short_sides: Sequence[int], min_jitter_short_side: int) -> int:
    """The short side of the prepared copy to read for a clip whose jitter range starts at
    ``min_jitter_short_side``: the smallest copy at least that large, else the largest (the primary).

    As PySlowFast's torchvision backend does, a clip reads the copy at the bottom of its shape's
    jitter range and is scaled up for larger draws: a 112 crop (jitter [128, 320] in the K400
    schedule) reads the 128 copy as the full shape (jitter [256, 320]) reads the 256 primary, so the
    small shape sees a downscaled full-shape view at a quarter of the decoding. Reading, instead,
    the smallest copy at least as large as each drawn side missed the loader target at 8x112 with
    copies at 128/181/256 and keyframes every 8, 16 or 32 frames
    (projects/multigrid/results/loader/downscale_only/).
    """
    if not short_sides:
        raise ValueError("short_sides is empty")
    large_enough = [side for side in short_sides if side >= min_jitter_short_side]
    return min(large_enough) if large_enough else max(short_sides)


class PreparedCopyError(DataError):
    """A prepared folder's smaller copies are missing or disagree with the videos the CSV lists."""


def check_prepared_copies(
    primaries: Sequence[str], manifest: PreparedManifest, manifest_path: str, source: str, num_processes: int = 0
) -> None:
    """Raise PreparedCopyError unless every listed video's copies exist and have its frame count and
    rate (from the headers, no decoding; with ``num_processes`` processes when above 0). A listed
    video that is itself missing or unreadable is left to the list check and the loader."""
    start = time.perf_counter()
    jobs = [(primary, manifest) for primary in primaries]
    if num_processes > 0 and len(jobs) > 64:
        with multiprocessing.get_context("fork").Pool(num_processes) as pool:
            problems = pool.map(_copy_problem, jobs, chunksize=64)
    else:
        problems = [_copy_problem(job) for job in jobs]
    bad = [(primary, problem) for (primary, _), problem in zip(jobs, problems) if problem]
    logger.info(f"checked the copies at short sides {list(manifest.short_sides)} of the {len(jobs)} videos of "
                f"{source} ({time.perf_counter() - start:.1f} s)")
    if bad:
        primary, problem = bad[0]
        raise PreparedCopyError(
            f"{len(bad)} of the {len(jobs)} videos listed in {source} have copies that disagree with "
            f"{manifest_path} (first: {primary}: {problem}); rerun tools/prepare_videos.py on that folder"
        )


def _copy_problem(job: tuple[str, PreparedManifest]) -> Optional[str]:
    """What is wrong with the copies of one video, or None."""
    primary, manifest = job
    try:
        expected = read_video_info(primary)
    except VideoDecodeError:
        return None
    for side in manifest.short_sides:
        path = manifest.path_for(primary, side)
        if path == primary:
            continue
        if not os.path.exists(path):
            return f"no copy {path} at short side {side}"
        try:
            info = read_video_info(path)
        except VideoDecodeError as error:
            return f"copy {path}: {error.reason}"
        if expected is None or info is None:
            if expected != info:
                return f"copy {path} header gives {_describe_info(info)}, the listed video's {_describe_info(expected)}"
            continue
        if info.frame_count != expected.frame_count or abs(info.fps - expected.fps) > 1e-3 * expected.fps:
            return f"copy {path} has {_describe_info(info)}, the listed video {_describe_info(expected)}"
    return None


def _describe_info(info) -> str:
    return "no frame count or rate" if info is None else f"{info.frame_count} frames at {info.fps:g} fps"

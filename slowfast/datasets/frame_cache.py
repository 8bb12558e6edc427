"""Whole videos decoded once into memory, so a clip costs what its frames cost, not a decode.

Decoding an H.264 clip costs about the clip's span plus half a keyframe interval whatever its
frames and crop, so multigrid's small shapes (many clips per iteration) would wait on the
decoder. A dataset that fits in memory (the bundled synthetic sets do) is decoded once before
training, with as many processes as the loader has workers; the arrays are made before the
loader forks its workers, which then share them. A clip picked from the cache is the exact
array ``decode_clip`` would return for the same indices.
"""
import logging
import multiprocessing
import time
from typing import Callable, Optional, Sequence

import cv2
import numpy as np

from slowfast.datasets.decoder import VideoDecodeError, VideoInfo, decode_clip

logger = logging.getLogger(__name__)


def decode_whole_video(path: str) -> tuple[np.ndarray, VideoInfo]:
    """Every frame of ``path`` (numbered as ``decode_clip`` numbers them) and its metadata."""
    seen: list[VideoInfo] = []

    def every_frame(info: VideoInfo) -> np.ndarray:
        seen.append(info)
        return np.arange(info.frame_count)

    frames = decode_clip(path, every_frame)
    return frames, seen[0]


def _decode_or_none(path: str) -> Optional[tuple[np.ndarray, VideoInfo]]:
    try:
        return decode_whole_video(path)
    except VideoDecodeError:
        return None  # decoded again, logged and replaced when a clip asks for it


class DecodedVideoCache:
    """Decoded frames of some videos of a split, by video index."""

    def __init__(self, videos: dict[int, tuple[np.ndarray, VideoInfo]]) -> None:
        self._videos = videos

    def __len__(self) -> int:
        return len(self._videos)

    @property
    def num_bytes(self) -> int:
        return sum(frames.nbytes for frames, _ in self._videos.values())

    def clip(self, video: int, choose_indices: Callable[[VideoInfo], np.ndarray]) -> Optional[np.ndarray]:
        """The frames ``choose_indices`` picks from the cached video, or None when not cached."""
        cached = self._videos.get(video)
        if cached is None:
            return None
        frames, info = cached
        indices = np.clip(np.asarray(choose_indices(info), dtype=np.int64), 0, len(frames) - 1)
        return frames[indices]

    @classmethod
    def fill(cls, paths: Sequence[str], budget_bytes: int, num_processes: int, name: str) -> "DecodedVideoCache":
        """Decode videos in list order until ``budget_bytes`` is reached, with ``num_processes``
        processes (0: this one). Videos that fail to decode are left out."""
        start = time.perf_counter()
        videos: dict[int, tuple[np.ndarray, VideoInfo]] = {}
        used, failed = 0, 0
        for index, decoded in enumerate(_decode_all(paths, num_processes)):
            if decoded is None:
                failed += 1
                continue
            if used + decoded[0].nbytes > budget_bytes:
                break
            videos[index] = decoded
            used += decoded[0].nbytes
        cache = cls(videos)
        left = len(paths) - len(videos) - failed
        logger.info(
            f"decoded {len(videos)} of the {len(paths)} videos of {name} into memory "
            f"({used / 2**30:.2f} GB, {time.perf_counter() - start:.1f} s)"
            + (f"; {left} did not fit in DATA.DECODED_CACHE_GB and decode from file" if left else "")
            + (f"; {failed} could not be decoded" if failed else "")
        )
        return cache


def _decode_all(paths: Sequence[str], num_processes: int):
    """Decoded videos in order; stops decoding as soon as the consumer stops asking."""
    if num_processes == 0:
        yield from (_decode_or_none(path) for path in paths)
        return
    cv2.setNumThreads(1)  # OpenCV's thread pool does not survive fork (see datasets/loader.py)
    with multiprocessing.get_context("fork").Pool(num_processes) as pool:
        yield from pool.imap(_decode_or_none, paths, chunksize=8)

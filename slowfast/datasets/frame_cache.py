"""Whole videos decoded once into memory, so a clip costs what its frames cost, not a decode.

Decoding an H.264 clip costs about the clip's span plus half a keyframe interval whatever its
frames and crop, so multigrid's small shapes (many clips per iteration) would wait on the
decoder. A dataset that fits in memory (the bundled synthetic sets do) is decoded once before
training, with as many processes as the loader has workers; the arrays are made before the
loader forks its workers, which then share them. A clip picked from the cache is the exact
array ``decode_clip`` would return for the same indices.

With a store (``DATA.DECODED_CACHE_DIR``), the decoded frames of a list are also kept on disk,
one file of frames and one JSON index per list, and later runs map that file instead of
decoding again. The index records each video's size and modification time, the list and the
budget; when any of them changes, the store is decoded and written again.
"""
import hashlib
import json
import logging
import multiprocessing
import os
import time
from typing import Callable, Iterable, Optional, Sequence

import cv2
import numpy as np

from slowfast.datasets.decoder import VideoDecodeError, VideoInfo, decode_clip
from slowfast.utils.atomic import atomic_path, write_json_atomic

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
    def fill(cls, paths: Sequence[str], budget_bytes: int, num_processes: int, name: str,
             store: Optional[str] = None) -> "DecodedVideoCache":
        """Decode videos in list order until ``budget_bytes`` is reached, with ``num_processes``
        processes (0: this one). Videos that fail to decode are left out. With ``store`` (a path
        without extension), map ``store.frames`` when ``store.json`` matches these videos and
        budget; otherwise decode, write both, and map the frames."""
        start = time.perf_counter()
        key = _store_key(paths, budget_bytes) if store else None
        index = _read_index(store) if store else {}
        if store and index.get("key") == key and _frames_bytes(store) == index.get("bytes"):
            videos, failed, verb = _map_store(store, index), len(index["failed"]), "mapped"
        else:
            decoded = _VideosWithinBudget(_decode_all(paths, num_processes), budget_bytes)
            if store:
                videos = _map_store(store, _write_store(store, key, decoded))
            else:
                videos = dict(decoded)
            failed, verb = len(decoded.failed), "decoded"
        cache = cls(videos)
        left = len(paths) - len(videos) - failed
        logger.info(
            f"{verb} {len(videos)} of the {len(paths)} videos of {name} "
            + (f"{'from' if verb == 'mapped' else 'into'} {store}.frames " if store else "into memory ")
            + f"({cache.num_bytes / 2**30:.2f} GB, {time.perf_counter() - start:.1f} s)"
            + (f"; {left} did not fit in DATA.DECODED_CACHE_GB and decode from file" if left else "")
            + (f"; {failed} could not be decoded" if failed else "")
        )
        return cache


class _VideosWithinBudget:
    """(index, decoded video) in list order, until the next video would pass the budget;
    ``failed`` collects the indices that could not be decoded."""

    def __init__(self, decoded: Iterable, budget_bytes: int) -> None:
        self._decoded, self._budget = decoded, budget_bytes
        self.failed: set[int] = set()

    def __iter__(self):
        used = 0
        for index, video in enumerate(self._decoded):
            if video is None:
                self.failed.add(index)
                continue
            if used + video[0].nbytes > self._budget:
                return
            used += video[0].nbytes
            yield index, video


_STORE_VERSION = 1


def _store_key(paths: Sequence[str], budget_bytes: int) -> str:
    """Changes when the list, any video's size or modification time, or the budget changes."""
    digest = hashlib.sha1(f"{_STORE_VERSION} {budget_bytes}".encode())
    for path in paths:
        try:
            status = os.stat(path)
            digest.update(f"\n{os.path.abspath(path)} {status.st_size} {status.st_mtime_ns}".encode())
        except OSError:
            digest.update(f"\n{os.path.abspath(path)} missing".encode())
    return digest.hexdigest()


def _read_index(store: str) -> dict:
    try:
        with open(store + ".json", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _frames_bytes(store: str) -> Optional[int]:
    try:
        return os.path.getsize(store + ".frames")
    except OSError:
        return None


def _write_store(store: str, key: str, decoded: _VideosWithinBudget) -> dict:
    """Frames of every decoded video back to back in ``store.frames``, then the index that
    makes them valid (written last, so a store cut short is decoded again); returns the index."""
    entries, offset = {}, 0
    try:
        os.makedirs(os.path.dirname(os.path.abspath(store)), exist_ok=True)
        with atomic_path(store + ".frames") as temporary, open(temporary, "wb") as handle:
            for video, (frames, info) in decoded:
                handle.write(np.ascontiguousarray(frames).data)
                entries[str(video)] = {"offset": offset, "shape": list(frames.shape),
                                       "frame_count": info.frame_count, "fps": info.fps}
                offset += frames.nbytes
        index = {"key": key, "bytes": offset, "failed": sorted(decoded.failed), "videos": entries}
        write_json_atomic(store + ".json", index)
    except OSError as error:
        raise OSError(f"could not write decoded frames to {store}.frames ({error.strerror or error}); "
                      f"free space there, or set DATA.DECODED_CACHE_DIR to another folder or ''") from error
    return index


def _map_store(store: str, index: dict) -> dict[int, tuple[np.ndarray, VideoInfo]]:
    if not index["videos"]:
        return {}
    flat = np.memmap(store + ".frames", dtype=np.uint8, mode="r")
    videos = {}
    for video, entry in index["videos"].items():
        size = int(np.prod(entry["shape"]))
        frames = flat[entry["offset"]:entry["offset"] + size].reshape(entry["shape"])
        videos[int(video)] = (frames, VideoInfo(frame_count=entry["frame_count"], fps=entry["fps"]))
    return videos


def _decode_all(paths: Sequence[str], num_processes: int):
    """Decoded videos in order; stops decoding as soon as the consumer stops asking."""
    if num_processes == 0:
        yield from (_decode_or_none(path) for path in paths)
        return
    cv2.setNumThreads(1)  # OpenCV's thread pool does not survive fork (see datasets/loader.py)
    with multiprocessing.get_context("fork").Pool(num_processes) as pool:
        yield from pool.imap(_decode_or_none, paths, chunksize=8)

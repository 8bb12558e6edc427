"""PyAV decoding of only the frames a clip needs, and the temporal sampling that picks them."""
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import av
import numpy as np
from av.video.reformatter import VideoReformatter


class VideoDecodeError(Exception):
    """A video cannot be opened or decoded; names the file and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"cannot decode video '{path}': {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):
        return type(self), (self.path, self.reason)


@dataclass(frozen=True)
class VideoInfo:
    """What temporal sampling needs to know about a video."""

    frame_count: int
    fps: float


def clip_frame_indices(
    frame_count: int,
    fps: float,
    num_frames: int,
    sampling_rate: int,
    target_fps: float,
    start_fraction: float,
) -> np.ndarray:
    """Source frame indices of a clip of ``num_frames`` frames, ``sampling_rate`` apart at ``target_fps``.

    The clip spans ``L = sampling_rate * num_frames * fps / target_fps`` source frames and starts at
    ``start_fraction * max(frame_count - L, 0)`` (0 = first frame, 1 = last possible start).
    Indices are ``linspace(start, start + L - 1, num_frames)`` clamped to the video and truncated,
    as in PySlowFast, so a video shorter than the clip repeats its last frame.
    """
    if frame_count < 1:
        raise ValueError(f"frame_count must be >= 1, got {frame_count}")
    if not 0.0 <= start_fraction <= 1.0:
        raise ValueError(f"start_fraction must be in [0, 1], got {start_fraction}")
    span = sampling_rate * num_frames * fps / target_fps
    start = start_fraction * max(frame_count - span, 0.0)
    positions = np.linspace(start, start + span - 1, num_frames)
    return np.clip(positions, 0, frame_count - 1).astype(np.int64)


def random_start(rng: np.random.Generator) -> float:
    """Training clip start: uniform over all possible starts."""
    return float(rng.uniform(0.0, 1.0))


CENTRE_START = 0.5


def ensemble_view_start(view: int, num_views: int) -> float:
    """Start of test view ``view`` of ``num_views``: the views span the whole video (one view: centre)."""
    if num_views == 1:
        return CENTRE_START
    return view / (num_views - 1)


def decode_clip(
    path: str, choose_indices: Callable[[VideoInfo], np.ndarray], threads: bool = False
) -> np.ndarray:
    """Open ``path`` once, pick frame indices from its metadata and decode only those frames.

    ``threads`` lets FFmpeg decode with frame and slice threads; without it decoding uses one
    thread, which suits many loader workers. Any failure raises :class:`VideoDecodeError`.
    """
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError, ValueError) as error:
        raise VideoDecodeError(path, f"cannot open file ({_describe(error)})") from error
    try:
        return _decode_open(path, container, choose_indices, threads)
    except (av.FFmpegError, OSError) as error:
        raise VideoDecodeError(path, f"decode error ({_describe(error)})") from error
    finally:
        container.close()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _decode_open(path, container, choose_indices, threads) -> np.ndarray:
    if not container.streams.video:
        raise VideoDecodeError(path, "the file has no video stream")
    stream = container.streams.video[0]
    if threads:
        stream.codec_context.thread_type = "AUTO"
    else:
        stream.codec_context.thread_count = 1
    fps = _stream_fps(stream)
    frame_count = _metadata_frame_count(stream, container, fps)
    if frame_count is None or fps is None:
        return _decode_without_metadata(path, container, stream, fps, choose_indices)
    indices = _checked_indices(path, choose_indices(VideoInfo(frame_count, fps)))
    try:
        frames = _select(path, _decode_from_seek(container, stream, fps, int(indices[0])), indices)
    except _MissingTimestamp:
        frames = None
    if frames is None:
        # The seek landed after the first needed frame or past the data, or timestamps are
        # missing: number frames by decoding order from the start instead.
        container.seek(0)
        frames = _select(path, enumerate(container.decode(stream)), indices)
    if frames is None:
        raise VideoDecodeError(path, "no frames could be decoded")
    return frames


def _stream_fps(stream) -> Optional[float]:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else None


def _metadata_frame_count(stream, container, fps: Optional[float]) -> Optional[int]:
    """Frame count from the header, else estimated from the duration; None when unknown."""
    if stream.frames and stream.frames > 0:
        return int(stream.frames)
    if fps is None:
        return None
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / av.time_base
    else:
        return None
    count = int(round(seconds * fps))
    return count if count > 0 else None


def _checked_indices(path: str, indices: np.ndarray) -> np.ndarray:
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim != 1 or indices.size == 0:
        raise ValueError(f"{path}: frame indices must be a non-empty 1-D array, got shape {indices.shape}")
    if indices[0] < 0 or np.any(np.diff(indices) < 0):
        raise ValueError(f"{path}: frame indices must be non-negative and non-decreasing")
    return indices


class _MissingTimestamp(Exception):
    """A decoded frame carries no timestamp, so frames must be numbered by decoding order."""


def _decode_from_seek(container, stream, fps: float, first_index: int) -> Iterator[tuple[int, object]]:
    """Decoded frames numbered from their timestamps, after seeking near ``first_index``."""
    time_base = stream.time_base
    origin = stream.start_time or 0
    if time_base is None:
        yield from enumerate(container.decode(stream))
        return
    if first_index > 0:
        container.seek(origin + int(first_index / (fps * time_base)), backward=True, any_frame=False, stream=stream)
    for frame in container.decode(stream):
        if frame.pts is None:
            raise _MissingTimestamp()
        yield int(round(float((frame.pts - origin) * time_base) * fps)), frame


def _select(path: str, numbered_frames: Iterator[tuple[int, object]], indices: np.ndarray) -> Optional[np.ndarray]:
    """Gather the frames at ``indices`` from a stream of ``(index, frame)``; None if it starts too late.

    A needed index missing from the stream (timestamp gap) takes the latest frame before it;
    indices past the end of the stream take its last frame.
    """
    wanted = np.unique(indices)
    chosen: dict[int, object] = {}
    position = 0
    previous = None
    for number, frame in numbered_frames:
        if previous is None and number > wanted[0]:
            return None
        while position < len(wanted) and wanted[position] <= number:
            chosen[int(wanted[position])] = frame if wanted[position] == number else previous
            position += 1
        previous = frame
        if position == len(wanted):
            break
    if previous is None:
        return None
    for index in wanted[position:]:
        chosen[int(index)] = previous
    return _to_array(path, [chosen[int(index)] for index in indices])


def _decode_without_metadata(path, container, stream, fps, choose_indices) -> np.ndarray:
    """Decode the whole video to count its frames, then pick the clip from them."""
    frames = list(container.decode(stream))
    if not frames:
        raise VideoDecodeError(path, "the video stream has zero frames")
    # Without any rate, assume the usual 30 fps: it only scales the clip span.
    info = VideoInfo(len(frames), fps if fps is not None else 30.0)
    indices = _checked_indices(path, choose_indices(info))
    return _to_array(path, [frames[min(int(index), len(frames) - 1)] for index in indices])


def _to_array(path: str, frames: list) -> np.ndarray:
    """Convert frames to one uint8 RGB array, converting each distinct frame once."""
    # One reformatter per clip: the same pixels as ``frame.to_ndarray(format="rgb24")`` per frame,
    # which made decoding a split into memory with 2 processes about 2.8x slower (PyAV 18, 64x64;
    # projects/multigrid/results/design/fill_conversion.txt).
    reformatter = VideoReformatter()

    def rgb(frame) -> np.ndarray:
        return reformatter.reformat(frame, format="rgb24").to_ndarray()

    first = rgb(frames[0])
    output = np.empty((len(frames),) + first.shape, dtype=np.uint8)
    converted = {id(frames[0]): first}
    for position, frame in enumerate(frames):
        image = converted.get(id(frame))
        if image is None:
            image = converted[id(frame)] = rgb(frame)
        if image.shape != first.shape:
            raise VideoDecodeError(path, f"frame size changes within the video ({first.shape} then {image.shape})")
        output[position] = image
    return output

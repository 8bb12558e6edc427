"""PyAV decoding of only the frames a clip needs (``temporal_sampling`` picks them from ``VideoInfo``)."""
import bisect
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from slowfast.datasets.transforms import resized_shape


class VideoDecodeError(Exception):
    """A video cannot be opened or decoded; names the file and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"cannot decode video '{path}': {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):
        return type(self), (self.path, self.reason)


@dataclass(frozen=True)
class DecodeStats:
    """Work done by this process's decoder since start or the last reset.

    ``frames_decoded``: frames the codec output; ``frames_converted``: frames converted to RGB;
    ``pixels_converted``: height * width of the RGB conversion's output, summed over converted
    frames (the target size with ``SCALER = "swscale"``, the stored size with "cv2").
    """

    frames_decoded: int
    frames_converted: int
    pixels_converted: int


_stats = {"frames_decoded": 0, "frames_converted": 0, "pixels_converted": 0}


def decode_stats() -> DecodeStats:
    """Cumulative decoding work in this process (a loader worker counts its own)."""
    return DecodeStats(**_stats)


def reset_decode_stats() -> None:
    """Set this process's decode counters to zero."""
    for key in _stats:
        _stats[key] = 0


def _count_decoded(frames):
    """Pass decoded frames through, counting them."""
    for frame in frames:
        _stats["frames_decoded"] += 1
        yield frame


@dataclass(frozen=True)
class VideoInfo:
    """What temporal sampling needs to know about a video."""

    frame_count: int
    fps: float


def decode_clip(
    path: str,
    choose_indices: Callable[[VideoInfo], np.ndarray],
    threads: bool = False,
    short_side: Optional[int] = None,
) -> np.ndarray:
    """Open ``path`` once, pick frame indices from its metadata and decode only those frames.

    Returns uint8 RGB ``[T, H, W, 3]``: at the stored size, or with ``short_side`` at
    ``resized_shape(H, W, short_side)``, each picked frame scaled as it is converted (``SCALER``).
    Only the packets the picked frames depend on are decoded (see ``_numbered_frames``), and only
    distinct picked frames are converted. ``threads`` lets FFmpeg decode with frame and slice
    threads; without it decoding uses one thread, which suits many loader workers. Any failure
    raises :class:`VideoDecodeError`.
    """
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError, ValueError) as error:
        raise VideoDecodeError(path, f"cannot open file ({_describe(error)})") from error
    try:
        return _decode_open(path, container, choose_indices, threads, short_side)
    except (av.FFmpegError, OSError) as error:
        raise VideoDecodeError(path, f"decode error ({_describe(error)})") from error
    finally:
        container.close()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _decode_open(path, container, choose_indices, threads, short_side) -> np.ndarray:
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
        return _decode_without_metadata(path, container, stream, fps, choose_indices, short_side)
    indices = _checked_indices(path, choose_indices(VideoInfo(frame_count, fps)))
    chosen = None
    if stream.time_base is not None:
        keyframes = _cached_keyframes(path, container, stream, fps)
        try:
            wanted = np.unique(indices).tolist()
            chosen = _select(_numbered_frames(container, stream, fps, keyframes, wanted), indices)
        except _MissingTimestamp:
            chosen = None
    if chosen is None:
        # Timestamps are missing or the video starts after the first needed frame: number
        # frames by decoding order from the start instead.
        container.seek(0)
        chosen = _select(enumerate(_count_decoded(container.decode(stream))), indices)
    if chosen is None:
        raise VideoDecodeError(path, "no frames could be decoded")
    return _to_array(path, chosen, short_side)


def read_video_info(path: str) -> Optional[VideoInfo]:
    """Frame count and rate from the header alone (no decoding); None when the header lacks them.
    Raises :class:`VideoDecodeError` when the file cannot be opened or has no video stream."""
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError, ValueError) as error:
        raise VideoDecodeError(path, f"cannot open file ({_describe(error)})") from error
    with container:
        if not container.streams.video:
            raise VideoDecodeError(path, "the file has no video stream")
        stream = container.streams.video[0]
        fps = _stream_fps(stream)
        frame_count = _metadata_frame_count(stream, container, fps)
    return None if frame_count is None or fps is None else VideoInfo(frame_count, fps)


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


class _Keyframes:
    """A video's keyframes in display order: the first frame index each can serve, and where to seek.

    ``first_served[k]`` is keyframe k's frame index, or one more when the frame shown just before
    it has the same index (a variable frame rate): a clip frame at or after it is decoded exactly
    as from the start. ``pts``/``dts`` are seek targets in the stream's time base; ``prefer_dts``
    is learnt when a pts seek lands after the keyframe (MPEG-TS seeks by dts).
    """

    __slots__ = ("numbers", "first_served", "pts", "dts", "prefer_dts")

    def __init__(self, numbers: list[int], first_served: list[int], pts: list[int], dts: list[Optional[int]]):
        self.numbers, self.first_served, self.pts, self.dts = numbers, first_served, pts, dts
        self.prefer_dts = False

    def last_serving(self, index: int) -> int:
        """Position of the last keyframe that can serve frame ``index``; -1 when none can."""
        return bisect.bisect_right(self.first_served, index) - 1

    def seek_target(self, position: int) -> int:
        dts = self.dts[position]
        return dts if self.prefer_dts and dts is not None else self.pts[position]

    def can_retry_with_dts(self, position: int) -> bool:
        dts = self.dts[position]
        return not self.prefer_dts and dts is not None and dts < self.pts[position]


# Keyframe tables of recently read videos, by (path, size, modification time): a video read
# again (another clip, test views) skips the scan.
_KEYFRAME_CACHE: "OrderedDict[tuple, _Keyframes]" = OrderedDict()
KEYFRAME_CACHE_VIDEOS = 4096


def _cached_keyframes(path: str, container, stream, fps: float) -> _Keyframes:
    try:
        status = os.stat(path)
        key = (path, status.st_size, status.st_mtime_ns)
    except OSError:
        key = None
    keyframes = _KEYFRAME_CACHE.get(key) if key else None
    if keyframes is None:
        keyframes = _read_keyframes(container, stream, fps)
        if key:
            _KEYFRAME_CACHE[key] = keyframes
            if len(_KEYFRAME_CACHE) > KEYFRAME_CACHE_VIDEOS:
                _KEYFRAME_CACHE.popitem(last=False)
    else:
        _KEYFRAME_CACHE.move_to_end(key)
    return keyframes


def _read_keyframes(container, stream, fps: float) -> _Keyframes:
    """Keyframe table without decoding: from the MP4 sample index when it lists every frame at a
    constant rate (read with the header, about 0.3 ms for 300 frames), else from the packets'
    timestamps (demuxing reads the file: about 1.9 ms for a 10 s 340x256 MP4)."""
    if "mov" in container.format.name.split(","):
        keyframes = _keyframes_from_index(stream, fps)
        if keyframes is not None:
            return keyframes
    return _keyframes_from_packets(container, stream, fps)  # the first seek rewinds


def _keyframes_from_index(stream, fps: float) -> Optional[_Keyframes]:
    """MP4/MOV: the index lists every sample in decoding order with its dts. At a constant rate
    with closed GOPs a keyframe is the first frame of its GOP, so its display index is its
    decoding position and its pts is the stream start plus that many frame durations (a seek
    that lands elsewhere is caught by ``_numbered_frames``)."""
    entries = stream.index_entries
    if not stream.frames or len(entries) != stream.frames or len(entries) < 2:
        return None
    stamps = [entry.timestamp for entry in entries]
    step = stamps[1] - stamps[0]
    if step <= 0 or any(b - a != step for a, b in zip(stamps, stamps[1:])):
        return None
    if abs(step * fps * stream.time_base - 1) > 1e-3:
        return None
    origin = stream.start_time or 0
    positions = [position for position, entry in enumerate(entries) if entry.is_keyframe]
    return _Keyframes(positions, positions, [origin + p * step for p in positions], [stamps[p] for p in positions])


def _keyframes_from_packets(container, stream, fps: float) -> _Keyframes:
    """Any container: demux (no decoding) and number each packet by its pts, as frames are numbered."""
    packets = [(packet.pts, packet.dts, packet.is_keyframe) for packet in container.demux(stream)
               if packet.pts is not None and packet.size]
    packets.sort(key=lambda packet: packet[0])
    numbers, first_served, pts, dts = [], [], [], []
    previous_number = None
    for packet_pts, packet_dts, is_keyframe in packets:
        number = _frame_number(packet_pts, stream, fps)
        if is_keyframe:
            served = number if previous_number is None else max(number, previous_number + 1)
            if not first_served or served > first_served[-1]:
                numbers.append(number)
                first_served.append(served)
                pts.append(packet_pts)
                dts.append(packet_dts)
        previous_number = number
    return _Keyframes(numbers, first_served, pts, dts)


def _frame_number(pts: int, stream, fps: float) -> int:
    """A frame's index from its timestamp (the clock the clip's indices are drawn on)."""
    time_base = stream.time_base
    # Integer true division rounds the exact rational once, as float(Fraction) does, without
    # building Fractions per frame.
    return int(round((pts - (stream.start_time or 0)) * time_base.numerator / time_base.denominator * fps))


def _numbered_frames(container, stream, fps: float, keyframes: _Keyframes, wanted: list[int]):
    """``(index, frame)`` of decoded frames from which ``_select`` picks ``wanted`` (sorted, unique).

    Seek rule: before decoding toward the next wanted index, seek to the last keyframe that can
    serve it when that keyframe lies beyond the frame after the current decoding position (so the
    seek skips decoding); otherwise keep decoding. A seek must land at or before its keyframe:
    if it lands later or past the data, retry with the keyframe's dts, then with earlier
    keyframes, then from the start; frames before the first one decoded from the start mean
    numbering by decoding order (raises ``_MissingTimestamp``).
    """
    decoded = None
    aimed = -2  # keyframe position of the last seek (-1: the start)
    position = -1  # index of the last decoded frame
    satisfied = -1  # every wanted index up to this one has been passed
    while True:
        pending = bisect.bisect_right(wanted, satisfied)
        if pending == len(wanted):
            return
        target = wanted[pending]
        keyframe = keyframes.last_serving(target)
        if decoded is None or (keyframe > aimed and keyframes.first_served[keyframe] > position + 1):
            used, decoded, first = _seek(container, stream, fps, keyframes, keyframe, target)
            # The keyframe asked for counts as tried even when the seek fell back to an earlier
            # one: asking for it again would land at the same place again, forever.
            aimed = max(used, keyframe)
            if first is None:
                return
            number, frame = first
        else:
            item = next(decoded, None)
            if item is None:
                return
            number, frame = item
        position, satisfied = number, max(satisfied, number)
        yield number, frame


def _seek(container, stream, fps, keyframes: _Keyframes, keyframe: int, target: int):
    """Seek toward ``keyframe`` (-1: the start) and decode the first frame; retries as
    ``_numbered_frames`` says. Returns (keyframe position used, numbered frames, first item)."""
    while keyframe >= 0:
        container.seek(keyframes.seek_target(keyframe), backward=True, any_frame=False, stream=stream)
        decoded = _timestamp_numbered(container, stream, fps)
        first = next(decoded, None)
        if first is not None and first[0] <= keyframes.numbers[keyframe]:
            return keyframe, decoded, first
        if keyframes.can_retry_with_dts(keyframe):
            keyframes.prefer_dts = True
        else:
            keyframe -= 1
    container.seek(0)
    decoded = _timestamp_numbered(container, stream, fps)
    first = next(decoded, None)
    if first is not None and first[0] > target:
        raise _MissingTimestamp()
    return -1, decoded, first


def _timestamp_numbered(container, stream, fps: float) -> Iterator[tuple[int, object]]:
    for frame in _count_decoded(container.decode(stream)):
        if frame.pts is None:
            raise _MissingTimestamp()
        yield _frame_number(frame.pts, stream, fps), frame


def _select(numbered_frames: Iterator[tuple[int, object]], indices: np.ndarray) -> Optional[list]:
    """The frames at ``indices`` from a stream of ``(index, frame)``; None if it starts too late.

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
    return [chosen[int(index)] for index in indices]


def _decode_without_metadata(path, container, stream, fps, choose_indices, short_side) -> np.ndarray:
    """Decode the whole video to count its frames, then pick the clip from them."""
    frames = list(_count_decoded(container.decode(stream)))
    if not frames:
        raise VideoDecodeError(path, "the video stream has zero frames")
    # Without any rate, assume the usual 30 fps: it only scales the clip span.
    info = VideoInfo(len(frames), fps if fps is not None else 30.0)
    indices = _checked_indices(path, choose_indices(info))
    return _to_array(path, [frames[min(int(index), len(frames) - 1)] for index in indices], short_side)


# How a clip needed at another short side is scaled, frame by frame as it is converted:
# "cv2": convert at the stored size (swscale's unscaled SIMD path), then cv2.INTER_LINEAR, the
# pixels of decoding then ``transforms.short_side_resize``; "swscale": one reformat to RGB at the
# target size. Per-frame CPU time, 340x256 source to short sides 112-320 (PyAV 18.1, libswscale
# 9.5, cv2 1 thread, best of 9): cv2 0.08-0.25 ms, swscale 0.19-0.68 ms; 1280x720 source: cv2
# 0.37-1.07 ms, swscale 0.75-2.80 ms. So "cv2" is the default.
SCALER = "cv2"
# For "swscale": bilinear (its filter widens with the factor when downscaling) with the
# full-chroma output path; plain BILINEAR converts 1-2 levels darker than the unscaled path
# (flat grey Y=126: 126, not 128). It differs from "cv2" mostly through chroma, which swscale
# scales at 4:2:0 before converting (tests/datasets/test_decoder_seek.py states by how much).
SWSCALE_INTERPOLATION = Interpolation.BILINEAR | Interpolation.FULL_CHR_H_INT


def _to_array(path: str, frames: list, short_side: Optional[int] = None) -> np.ndarray:
    """Convert frames to one uint8 RGB array, each distinct frame once, scaled (see SCALER) to
    ``resized_shape(H, W, short_side)`` when ``short_side`` differs from the stored one."""
    # One reformatter per clip: the same pixels as ``frame.to_ndarray(format="rgb24")`` per frame,
    # which made decoding a split into memory with 2 processes about 2.8x slower (PyAV 18, 64x64;
    # projects/multigrid/results/design/fill_conversion.txt).
    reformatter = VideoReformatter()
    height, width = frames[0].height, frames[0].width
    size = None
    if short_side is not None and short_side != min(height, width):
        size = resized_shape(height, width, short_side)
    one_pass = {} if size is None or SCALER != "swscale" else {
        "height": size[0], "width": size[1], "interpolation": SWSCALE_INTERPOLATION}

    def rgb(frame) -> np.ndarray:
        if (frame.height, frame.width) != (height, width):
            raise VideoDecodeError(
                path, f"frame size changes within the video ({height}x{width} then {frame.height}x{frame.width})")
        image = reformatter.reformat(frame, format="rgb24", **one_pass).to_ndarray()
        _stats["frames_converted"] += 1
        _stats["pixels_converted"] += image.shape[0] * image.shape[1]
        if size is not None and not one_pass:
            image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        return image

    first = rgb(frames[0])
    output = np.empty((len(frames),) + first.shape, dtype=np.uint8)
    converted = {id(frames[0]): first}
    for position, frame in enumerate(frames):
        image = converted.get(id(frame))
        if image is None:
            image = converted[id(frame)] = rgb(frame)
        output[position] = image
    return output

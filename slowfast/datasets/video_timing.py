"""When a video's frames are shown, and the check that a re-encoded copy shows the same frames at the same times."""
from dataclasses import dataclass
from typing import Optional

import av


class CopyMismatch(ValueError):
    """A written copy does not decode, or differs from its source in size, frame count or timing."""


@dataclass(frozen=True)
class VideoTiming:
    """Presentation times (seconds) of a video's decoded frames, in display order."""

    times_s: tuple[float, ...]

    @property
    def frame_count(self) -> int:
        return len(self.times_s)

    @property
    def frame_interval_s(self) -> float:
        """Mean time between frames (0 with fewer than two frames)."""
        return (self.times_s[-1] - self.times_s[0]) / (self.frame_count - 1) if self.frame_count > 1 else 0.0

    @property
    def duration_s(self) -> float:
        """Time from the first frame to the end of the last, the last lasting one mean interval."""
        return self.frame_count * self.frame_interval_s

    @property
    def rate(self) -> float:
        """Mean frames per second (0 with fewer than two frames)."""
        return 1 / self.frame_interval_s if self.frame_interval_s else 0.0


@dataclass(frozen=True)
class _Decoded:
    timing: VideoTiming
    size: Optional[tuple[int, int]]
    header_frames: int
    header_rate: Optional[float]
    header_duration_s: Optional[float]


def _decode(path: str) -> _Decoded:
    with av.open(path) as container:
        stream = container.streams.video[0]
        times, size = [], None
        for frame in container.decode(stream):
            if frame.pts is None:
                raise CopyMismatch(f"frame {len(times)} has no timestamp")
            times.append(float(frame.pts * frame.time_base))
            size = (frame.height, frame.width)
        duration = float(stream.duration * stream.time_base) if stream.duration else None
        rate = float(stream.average_rate) if stream.average_rate else None
        return _Decoded(VideoTiming(tuple(times)), size, stream.frames, rate, duration)


def check_copy(path: str, source: VideoTiming, height: int, width: int) -> None:
    """Raise CopyMismatch unless ``path`` decodes to ``height`` x ``width`` frames, as many as
    ``source``'s, each within half a frame of its source frame's time, and its header's frame
    count, rate and duration agree with ``source`` within one frame."""
    try:
        copy = _decode(path)
    except (av.FFmpegError, IndexError) as error:
        raise CopyMismatch(f"written file does not decode: {error}") from None
    if copy.timing.frame_count != source.frame_count:
        raise CopyMismatch(f"decodes to {copy.timing.frame_count} frames, the source to {source.frame_count}")
    if copy.size is not None and copy.size != (height, width):
        raise CopyMismatch(f"frames are {copy.size[1]}x{copy.size[0]}, expected {width}x{height}")
    half_frame = source.frame_interval_s / 2 or 1e-6
    for index, (got, expected) in enumerate(zip(copy.timing.times_s, source.times_s)):
        if abs(got - expected) > half_frame:
            raise CopyMismatch(f"frame {index} is shown at {got:.6f} s, in the source at {expected:.6f} s")
    _check_header(copy, source)


def _check_header(copy: _Decoded, source: VideoTiming) -> None:
    """What readers take from the header before decoding must agree with the frames."""
    if copy.header_frames and copy.header_frames != source.frame_count:
        raise CopyMismatch(f"header says {copy.header_frames} frames, the source has {source.frame_count}")
    if source.frame_count < 2:
        return
    if copy.header_rate is not None and abs(copy.header_rate - source.rate) * source.duration_s > 1:
        raise CopyMismatch(f"header rate {copy.header_rate:.4f} fps, the source's {source.rate:.4f} fps")
    if copy.header_duration_s is not None and abs(copy.header_duration_s - source.duration_s) > source.frame_interval_s:
        raise CopyMismatch(f"header duration {copy.header_duration_s:.4f} s, the source's {source.duration_s:.4f} s")

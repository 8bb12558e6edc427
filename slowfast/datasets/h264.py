"""The one H.264 writer (PyAV + libx264): synthetic datasets, benchmark videos, re-encoding."""
import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Optional

import av
import numpy as np

from slowfast.utils.atomic import atomic_path


def fixed_keyframes(interval: int) -> str:
    """x264-params for a keyframe exactly every ``interval`` frames (no scene-cut keyframes)."""
    return f"keyint={interval}:min-keyint={interval}:scenecut=0"


def rescale(pts: int, source: Fraction, target: Fraction) -> int:
    """``pts`` in units of ``source`` seconds as a count of ``target`` units, rounded half up
    (FFmpeg's av_rescale_q)."""
    return math.floor(Fraction(pts) * source / target + Fraction(1, 2))


class H264Writer:
    """Encodes frames one by one into a yuv420p H.264 file, each at its own presentation time.

    Arrays (uint8 RGB ``[H, W, 3]``) are frame ``n`` at ``n / rate`` seconds; PyAV frames keep
    their ``pts`` and ``time_base`` (both required), so a variable frame rate survives. The
    encoder counts time in ``time_base`` (default ``1 / rate``): give the source's to keep its
    timestamps exact. Use as a context manager: leaving it without an error flushes the
    encoder and closes the file.
    """

    def __init__(self, path: str, rate: int | Fraction, height: int, width: int, options: Mapping[str, str],
                 container_options: Optional[Mapping[str, str]] = None, time_base: Optional[Fraction] = None):
        self.rate = Fraction(rate)
        self.time_base = Fraction(time_base) if time_base is not None else 1 / self.rate
        self.count = 0
        self._last_pts: Optional[int] = None
        self._container = av.open(path, mode="w", options=dict(container_options or {}))
        try:
            self._stream = self._container.add_stream("libx264", rate=self.rate, time_base=self.time_base,
                                                      options=dict(options))
            self._stream.height, self._stream.width, self._stream.pix_fmt = height, width, "yuv420p"
            self._container.start_encoding()
        except BaseException:
            self._container.close()
            raise

    def write(self, frame: np.ndarray | av.VideoFrame) -> None:
        """Encode one frame; its time must come after the previous frame's (the muxer needs it)."""
        if isinstance(frame, np.ndarray):
            frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            frame.pts, frame.time_base = self.count, 1 / self.rate
        elif frame.pts is None or frame.time_base is None:
            # PyAV would number it by the encoder's frame count yet rescale that count from the frame's
            # own time base: a decoded 30 fps MP4 frame (1/15360) would land 512 times too early.
            raise ValueError(f"frame {self.count} has no timestamp (pts {frame.pts}, time_base {frame.time_base})")
        pts = rescale(frame.pts, frame.time_base, self.time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            raise ValueError(f"frame {self.count} at {float(pts * self.time_base):.6f} s does not come after "
                             f"the previous one at {float(self._last_pts * self.time_base):.6f} s")
        frame.pts, frame.time_base = pts, self.time_base
        self._container.mux(self._stream.encode(frame))
        self._last_pts = pts
        self.count += 1

    def close(self, flush: bool = True) -> None:
        """Flush the encoder's delayed frames (when ``flush``) and close the file."""
        try:
            if flush:
                self._container.mux(self._stream.encode())
        finally:
            self._container.close()

    def __enter__(self) -> "H264Writer":
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        self.close(flush=error_type is None)


def write_h264(
    path: str,
    frames: Iterable[np.ndarray | av.VideoFrame],
    rate: int | Fraction,
    height: int,
    width: int,
    options: Mapping[str, str],
    container_options: Mapping[str, str] | None = None,
    time_base: Fraction | None = None,
) -> int:
    """Encode ``frames`` (see :class:`H264Writer`) as yuv420p H.264 (even ``height`` and
    ``width``) with libx264 ``options`` (and muxer ``container_options``, e.g. movflags); the
    file appears at ``path`` only once complete, with its header even when there are no
    frames. Returns the number of frames written."""
    with atomic_path(path) as partial, H264Writer(partial, rate, height, width, options, container_options,
                                                  time_base) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.count

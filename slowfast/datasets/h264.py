"""The one H.264 writer (PyAV + libx264): synthetic datasets, benchmark videos, re-encoding."""
from collections.abc import Iterable, Mapping
from fractions import Fraction

import av
import numpy as np

from slowfast.utils.atomic import atomic_path


def fixed_keyframes(interval: int) -> str:
    """x264-params for a keyframe exactly every ``interval`` frames (no scene-cut keyframes)."""
    return f"keyint={interval}:min-keyint={interval}:scenecut=0"


def write_h264(
    path: str,
    frames: Iterable[np.ndarray | av.VideoFrame],
    rate: int | Fraction,
    height: int,
    width: int,
    options: Mapping[str, str],
    container_options: Mapping[str, str] | None = None,
) -> int:
    """Encode ``frames`` (uint8 RGB ``[H, W, 3]`` arrays or PyAV frames of that size) as
    yuv420p H.264 (even ``height`` and ``width``) with libx264 ``options`` (and muxer
    ``container_options``, e.g. movflags); the file appears at ``path`` only once complete,
    with its header even when there are no frames. Returns the number of frames written."""
    count = 0
    muxer_options = dict(container_options or {})
    with atomic_path(path) as partial, av.open(partial, mode="w", options=muxer_options) as container:
        stream = container.add_stream("libx264", rate=rate, options=dict(options))
        stream.height, stream.width, stream.pix_fmt = height, width, "yuv420p"
        container.start_encoding()
        for frame in frames:
            if isinstance(frame, np.ndarray):
                frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode())
    return count

"""The H.264 writer: every frame at its own time, whatever time base it comes in."""
from fractions import Fraction

import av
import numpy as np
import pytest

from slowfast.datasets.h264 import H264Writer, rescale, write_h264

OPTIONS = {"preset": "ultrafast"}


def grey(level: int) -> np.ndarray:
    return np.full((32, 48, 3), level, np.uint8)


def timed_frame(level: int, pts: int, time_base: Fraction) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(grey(level), format="rgb24")
    frame.pts, frame.time_base = pts, time_base
    return frame


def shown_at(path: str) -> list[Fraction]:
    """Presentation time (s) of each decoded frame."""
    with av.open(path) as container:
        return [frame.pts * frame.time_base for frame in container.decode(video=0)]


def test_rescale_rounds_half_up_like_ffmpeg():
    assert rescale(512, Fraction(1, 15360), Fraction(1, 30)) == 1
    assert rescale(256, Fraction(1, 15360), Fraction(1, 30)) == 1
    assert rescale(255, Fraction(1, 15360), Fraction(1, 30)) == 0
    assert rescale(1001, Fraction(1, 30000), Fraction(1, 90000)) == 3003


def test_arrays_are_frame_n_at_n_over_rate(tmp_path):
    path = str(tmp_path / "arrays.mp4")
    assert write_h264(path, (grey(8 * k) for k in range(12)), 25, 32, 48, OPTIONS) == 12
    assert shown_at(path) == [Fraction(k, 25) for k in range(12)]


def test_frames_keep_their_timestamps_past_256_frames_in_a_finer_time_base(tmp_path):
    """Decoded MP4 frames come in the demuxer's time base (1/15360 at 30 fps): 512 units a frame.
    Rescaled to the encoder's 1/30, each keeps a time of its own, past 256 frames too."""
    path = str(tmp_path / "fine.mp4")
    source = Fraction(1, 15360)
    frames = (timed_frame(k % 250, 512 * k, source) for k in range(300))
    assert write_h264(path, frames, 30, 32, 48, OPTIONS) == 300
    assert shown_at(path) == [Fraction(k, 30) for k in range(300)]


def test_a_variable_rate_survives_in_the_given_time_base(tmp_path):
    path = str(tmp_path / "vfr.mp4")
    times_ms = [0, 30, 100, 130, 200, 260, 270, 400]
    frames = (timed_frame(20 * k, time, Fraction(1, 1000)) for k, time in enumerate(times_ms))
    write_h264(path, frames, 20, 32, 48, OPTIONS, time_base=Fraction(1, 1000))
    assert shown_at(path) == [Fraction(time, 1000) for time in times_ms]


def test_a_frame_without_a_timestamp_is_refused_and_no_file_appears(tmp_path):
    path = tmp_path / "untimed.mp4"
    frame = av.VideoFrame.from_ndarray(grey(0), format="rgb24")
    with pytest.raises(ValueError, match="frame 0 has no timestamp"):
        write_h264(str(path), [frame], 30, 32, 48, OPTIONS)
    assert list(tmp_path.iterdir()) == []


def test_timestamps_must_increase(tmp_path):
    frames = [timed_frame(9 * k, pts, Fraction(1, 30)) for k, pts in enumerate([0, 1, 1])]
    with pytest.raises(ValueError, match=r"frame 2 at 0.033333 s does not come after the previous one at 0.033333 s"):
        write_h264(str(tmp_path / "repeated.mp4"), frames, 30, 32, 48, OPTIONS)
    assert list(tmp_path.iterdir()) == []


def test_the_writer_encodes_frame_by_frame(tmp_path):
    path = str(tmp_path / "writer.mp4")
    with H264Writer(path, Fraction(30000, 1001), 32, 48, OPTIONS, time_base=Fraction(1, 30000)) as writer:
        for k in range(5):
            writer.write(grey(40 * k))
    assert writer.count == 5
    assert shown_at(path) == [Fraction(1001 * k, 30000) for k in range(5)]

"""Checking a written copy against its source's timing: frames, times, size and header."""
import numpy as np
import pytest

from slowfast.datasets.h264 import write_h264
from slowfast.datasets.video_timing import CopyMismatch, VideoTiming, check_copy

RATE, FRAMES, HEIGHT, WIDTH = 10, 20, 32, 48


def test_timing_of_a_constant_rate():
    timing = VideoTiming((0.0, 0.04, 0.08, 0.12))
    assert (timing.frame_count, timing.rate) == (4, pytest.approx(25))
    assert (timing.frame_interval_s, timing.duration_s) == (pytest.approx(0.04), pytest.approx(0.16))
    assert (VideoTiming((1.5,)).rate, VideoTiming((1.5,)).duration_s) == (0.0, 0.0)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> str:
    """20 frames at 10 fps, 48x32."""
    path = str(tmp_path_factory.mktemp("timing") / "copy.mp4")
    write_h264(path, (np.full((HEIGHT, WIDTH, 3), 10 * k, np.uint8) for k in range(FRAMES)), RATE, HEIGHT, WIDTH,
               {"preset": "ultrafast"})
    return path


def at_rate(count: int, offset_s: float = 0.0) -> VideoTiming:
    return VideoTiming(tuple(offset_s + k / RATE for k in range(count)))


def test_a_faithful_copy_passes(copy):
    check_copy(copy, at_rate(FRAMES), HEIGHT, WIDTH)
    check_copy(copy, at_rate(FRAMES, offset_s=0.049), HEIGHT, WIDTH)  # within half a frame


@pytest.mark.parametrize("source, size, message", [
    (at_rate(FRAMES + 1), (HEIGHT, WIDTH), "decodes to 20 frames, the source to 21"),
    (at_rate(FRAMES, offset_s=0.051), (HEIGHT, WIDTH), "frame 0 is shown at 0.000000 s, in the source at 0.051000 s"),
    (at_rate(FRAMES), (HEIGHT, 64), "frames are 48x32, expected 64x32"),
    (VideoTiming(tuple(k / 12 for k in range(FRAMES))), (HEIGHT, WIDTH),
     "frame 3 is shown at 0.300000 s, in the source at 0.250000 s"),  # 12 fps: half a frame is 0.042 s
])
def test_a_copy_that_differs_from_its_source_is_named(copy, source, size, message):
    with pytest.raises(CopyMismatch, match=message):
        check_copy(copy, source, *size)


def test_a_copy_that_does_not_decode(tmp_path, copy):
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(open(copy, "rb").read()[:200])
    with pytest.raises(CopyMismatch, match="written file does not decode: "):
        check_copy(str(truncated), at_rate(FRAMES), HEIGHT, WIDTH)

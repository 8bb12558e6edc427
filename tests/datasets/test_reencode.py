"""Re-encoding a Kinetics-style folder: every copy keeps its source's frames and timestamps, CSVs stay valid.

The sources are Kinetics-length (10-12 s) at 96x72, written with PyAV directly: constant rate
with B-frames at 25 and 30000/1001 fps, a variable frame rate, a Matroska file (no frame count
in its header) and a raw H.264 stream (no header, no timestamps).
"""
import io
import json
from fractions import Fraction

import av
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter

from slowfast.datasets.prepared import PreparedManifest, copy_path
from slowfast.datasets.reencode import EncodeOptions, copy_size, even_size, prepare_folder

HEIGHT, WIDTH = 72, 96
SHORT_SIDES = (32, 48)  # copies of 42x32 and 64x48 (primary)
KEYFRAME_INTERVAL = 10
# Bound on the mean absolute difference (of 255) between a copy's frame and its source frame scaled the
# way the tool scales it (to yuv420p at the copy's size), i.e. what lossy x264 (crf 23, ultrafast) loses.
# Measured on these sources: at most 8.7 at 42x32 and 3.7 at 64x48 (mean 7.5 and 3.0); the source's
# neighbouring frame differs by 16.1 or more at either size, so the bounds accept every right frame and
# no wrong one. (Against a source frame scaled straight to RGB, chroma subsampling adds ~3.5: 12.2 / 7.4.)
MAX_MEAN_ABS_DIFFERENCE = {32: 12.0, 48: 6.0}
VFR_INTERVALS_MS = (25, 40, 60, 33, 45)


def pattern(index: int) -> np.ndarray:
    """Frame ``index`` of every source: a checkerboard moving 3 px a frame, a colour wave moving 4 px a frame."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    checker = ((xs + 3 * index) // 16 + ys // 16) % 2 * 150 + 40
    wave = 120 + 80 * np.sin((xs + 4 * index) / 10)
    return np.stack([checker, wave, 2 * ys + 40], axis=-1).astype(np.uint8)


def write_source(path: str, times_s: list[Fraction], rate: Fraction, time_base: Fraction) -> None:
    """Encode ``pattern(k)`` shown at ``times_s[k]`` (B-frames on), with PyAV alone."""
    with av.open(path, mode="w") as container:
        stream = container.add_stream("libx264", rate=rate, time_base=time_base,
                                      options={"preset": "ultrafast", "x264-params": "bframes=3:keyint=50"})
        stream.height, stream.width, stream.pix_fmt = HEIGHT, WIDTH, "yuv420p"
        for index, time_s in enumerate(times_s):
            frame = av.VideoFrame.from_ndarray(pattern(index), format="rgb24")
            frame.pts, frame.time_base = round(time_s / time_base), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def constant_rate(rate: Fraction, seconds: int) -> list[Fraction]:
    return [index / rate for index in range(int(rate * seconds))]


def variable_rate(seconds: int) -> list[Fraction]:
    times, time_ms = [], 0
    while time_ms < 1000 * seconds:
        times.append(Fraction(time_ms, 1000))
        time_ms += VFR_INTERVALS_MS[len(times) % len(VFR_INTERVALS_MS)]
    return times


SOURCES = {  # name: (frame times, nominal rate, time base)
    "cfr25.mp4": (constant_rate(Fraction(25), 10), Fraction(25), Fraction(1, 12800)),
    "ntsc.mp4": (constant_rate(Fraction(30000, 1001), 10), Fraction(30000, 1001), Fraction(1001, 30000)),
    "vfr.mp4": (variable_rate(12), Fraction(25), Fraction(1, 1000)),
    "header_without_count.mkv": (constant_rate(Fraction(25), 10), Fraction(25), Fraction(1, 1000)),
    "raw_without_timestamps.h264": (constant_rate(Fraction(25), 10), Fraction(25), Fraction(1, 25)),
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The sources listed in train.csv (relative paths) and val.csv (absolute), prepared once."""
    folder = tmp_path_factory.mktemp("reencode")
    (folder / "in" / "clips").mkdir(parents=True)
    for name, (times, rate, time_base) in SOURCES.items():
        write_source(str(folder / "in" / "clips" / name), times, rate, time_base)
    names = sorted(SOURCES)
    (folder / "in" / "train.csv").write_text("".join(f"clips/{name} {k}\n" for k, name in enumerate(names[:-1])))
    (folder / "in" / "val.csv").write_text(f"{folder / 'in' / 'clips' / names[-1]} 7\n")
    options = EncodeOptions(short_sides=SHORT_SIDES, keyframe_interval=KEYFRAME_INTERVAL, preset="ultrafast")
    result = prepare_folder(str(folder / "in"), str(folder / "out"), options, workers=1, progress=None)
    return folder, result


def decode(path: str, height: int = 0, width: int = 0) -> tuple[list[float], np.ndarray]:
    """Times (s) and RGB frames ``[T, H, W, 3]`` of ``path``, scaled to yuv420p ``height`` x ``width``
    first when given."""
    times, images = [], []
    scale, to_rgb = VideoReformatter(), VideoReformatter()
    with av.open(path) as container:
        for frame in container.decode(video=0):
            times.append(float(frame.pts * frame.time_base) if frame.pts is not None else None)
            if height:
                frame = scale.reformat(frame, width=width, height=height, format="yuv420p")
            images.append(to_rgb.reformat(frame, format="rgb24").to_ndarray())
    return times, np.stack(images).astype(np.int16)


def mean_abs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference of each pair of frames."""
    return np.abs(a - b).mean(axis=(1, 2, 3))


def test_even_size_keeps_the_aspect_and_rounds_down_to_even():
    assert even_size(256, 340, 128) == (128, 170)
    assert even_size(60, 80, 33) == (32, 44)


def test_copies_are_never_upscaled():
    assert copy_size(72, 96, 48) == (48, 64)
    assert copy_size(72, 96, 256) == (72, 96)
    assert copy_size(75, 101, 256) == (74, 100)


def test_the_sources_are_what_they_claim(prepared):
    folder, _ = prepared
    clips = folder / "in" / "clips"
    for name in ("cfr25.mp4", "ntsc.mp4", "vfr.mp4"):
        with av.open(str(clips / name)) as container:
            pts = [packet.pts for packet in container.demux(video=0) if packet.size]
        assert pts != sorted(pts), f"{name} has no B-frames"
    with av.open(str(clips / "header_without_count.mkv")) as container:
        assert container.streams.video[0].frames == 0
    times, _ = decode(str(clips / "raw_without_timestamps.h264"))
    assert len(times) == 250 and set(times) == {None}
    times, _ = decode(str(clips / "vfr.mp4"))
    assert len({round(b - a, 3) for a, b in zip(times, times[1:])}) == len(VFR_INTERVALS_MS)


def test_every_video_is_prepared_and_listed(prepared):
    folder, result = prepared
    out = folder / "out"
    assert (result.failures, result.notes, result.empty_csvs) == ({}, {}, [])
    names = [mp4(name) for name in sorted(SOURCES)]
    assert (out / "train.csv").read_text() == "".join(f"clips/{name} {k}\n" for k, name in enumerate(names[:-1]))
    assert (out / "val.csv").read_text() == f"{out / 'clips' / names[-1]} 7\n"
    assert sorted(path.name for path in (out / "clips").iterdir()) == sorted(
        names + [copy_path(name, 32) for name in names])
    assert json.loads((out / "prepared.json").read_text()) == {
        "format": 1, "short_sides": [32, 48], "primary_short_side": 48, "keyframe_interval": KEYFRAME_INTERVAL,
        "crf": 23}
    assert PreparedManifest.read(str(out)) == PreparedManifest((32, 48), KEYFRAME_INTERVAL, 23)


def mp4(name: str) -> str:
    """Name of the prepared copy of source ``name``: every copy is an MP4."""
    return name.rsplit(".", 1)[0] + ".mp4"


def source_times(name: str) -> list[float]:
    times, _, _ = SOURCES[name]
    return [float(time_s) for time_s in times]


@pytest.mark.parametrize("short_side", SHORT_SIDES)
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_copy_keeps_the_source_frames_at_their_times(prepared, name, short_side):
    folder, _ = prepared
    path = PreparedManifest.read(str(folder / "out")).path_for(str(folder / "out" / "clips" / mp4(name)), short_side)
    height, width = even_size(HEIGHT, WIDTH, short_side)
    times, images = decode(path)
    _, expected = decode(str(folder / "in" / "clips" / name), height, width)
    assert len(times) == len(SOURCES[name][0]) == len(expected)
    assert np.allclose(times, source_times(name), rtol=0, atol=1e-6)
    assert images[0].shape == (height, width, 3)
    bound = MAX_MEAN_ABS_DIFFERENCE[short_side]
    assert mean_abs(images, expected).max() < bound
    assert min(mean_abs(images[1:], expected[:-1]).min(), mean_abs(images[:-1], expected[1:]).min()) > bound


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_copy_header_gives_the_source_rate_count_and_duration(prepared, name):
    folder, _ = prepared
    times = source_times(name)
    interval = (times[-1] - times[0]) / (len(times) - 1)
    for short_side in SHORT_SIDES:
        primary = mp4(name)
        path = folder / "out" / "clips" / (primary if short_side == SHORT_SIDES[-1] else copy_path(primary, short_side))
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.frames == len(times)
            assert abs(float(stream.duration * stream.time_base) - len(times) * interval) <= interval
            assert abs(float(stream.average_rate) - 1 / interval) * len(times) * interval <= 1
            keyframes = [k for k, packet in enumerate(container.demux(stream)) if packet.is_keyframe]
        assert keyframes == list(range(0, len(times), KEYFRAME_INTERVAL))


def test_a_short_side_above_the_source_is_written_at_the_source_size(tmp_path):
    (tmp_path / "in").mkdir()
    write_source(str(tmp_path / "in" / "small.mp4"), constant_rate(Fraction(25), 1), Fraction(25), Fraction(1, 25))
    (tmp_path / "in" / "train.csv").write_text("small.mp4 0\n")
    result = prepare_folder(str(tmp_path / "in"), str(tmp_path / "out"),
                            EncodeOptions(short_sides=(48, 200), preset="ultrafast"), workers=1, progress=None)
    assert result.notes == {str(tmp_path / "in" / "small.mp4"): (
        "short side 200 is above the source's 72: written at 96x72 (no upscaling)",)}
    for name, size in (("small.mp4", (HEIGHT, WIDTH)), ("small.s48.mp4", (48, 64))):
        _, images = decode(str(tmp_path / "out" / name))
        assert images.shape[:3] == (25, *size)


@pytest.fixture
def folder(tmp_path):
    source = tmp_path / "in"
    (source / "clips").mkdir(parents=True)
    for index in range(2):
        write_source(str(source / "clips" / f"v{index}.mp4"), constant_rate(Fraction(10), 1), Fraction(10),
                     Fraction(1, 10))
    (source / "clips" / "broken.mp4").write_bytes(b"not a video")
    (source / "train.csv").write_text("clips/v0.mp4 0\nclips/broken.mp4 1\n")
    (source / "val.csv").write_text(f"{source / 'clips' / 'v1.mp4'} 1\n")
    (source / "test.csv").write_text("clips/broken.mp4 1\n")
    return tmp_path


def test_a_broken_video_is_reported_and_left_out_and_an_empty_csv_is_not_written(folder):
    output = folder / "out"
    result = prepare_folder(str(folder / "in"), str(output), EncodeOptions(short_sides=(32,), preset="ultrafast"),
                            workers=1, progress=None)
    broken = str(folder / "in" / "clips" / "broken.mp4")
    assert list(result.failures) == [broken] and result.failures[broken].startswith("InvalidDataError: ")
    assert (output / "train.csv").read_text() == "clips/v0.mp4 0\n"
    assert (output / "val.csv").read_text() == f"{output / 'clips' / 'v1.mp4'} 1\n"
    assert result.empty_csvs == [str(output / "test.csv")] and not (output / "test.csv").exists()
    assert sorted(path.name for path in (output / "clips").iterdir()) == ["v0.mp4", "v1.mp4"]


def test_a_folder_without_csvs_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="has none of"):
        prepare_folder(str(tmp_path), str(tmp_path / "out"), EncodeOptions(), progress=None)


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream, shown", [(io.StringIO(), False), (Terminal(), True)])
def test_progress_bar_only_on_a_terminal(folder, stream, shown):
    prepare_folder(str(folder / "in"), str(folder / "out"), EncodeOptions(short_sides=(32,), preset="ultrafast"),
                   workers=1, progress=stream)
    text = stream.getvalue()
    assert ("re-encoding" in text and "3/3" in text and "failed=1" in text) == shown
    assert shown or text == ""

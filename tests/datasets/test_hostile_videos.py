"""Broken and odd videos through the Kinetics loader: each decodes correctly or is skipped with a logged reason.

The files are made here with PyAV: truncated, zero-byte, not video, audio only, zero frames,
shorter than a clip, portrait, rotation metadata, variable frame rate, tiny, large, and the
webm (VP8, VP9), mkv and avi containers.
"""
import fractions
import logging
from pathlib import Path

import av
import numpy as np
import pytest

from slowfast.datasets.errors import DataError
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.video_list import read_video_list
from slowfast.multigrid.shape import ClipShape

SHAPE = ClipShape(num_frames=8, crop_size=32, sampling_rate=(2, 2), jitter_scales=(32, 40))
OPTIONS = DatasetOptions(
    num_classes=3, num_frames=8, sampling_rate=2, train_jitter_scales=(32, 40), train_crop_size=32,
    test_crop_size=32, num_ensemble_views=2, num_spatial_crops=1, random_flip=False,
)
# File name -> the start of the logged reason; absent names must decode.
SKIPPED = {
    "zero_byte.mp4": "cannot open file",
    "not_video.mp4": "cannot open file",
    "audio_only.mkv": "the file has no video stream",
    "zero_frames.mkv": "cannot open file",
    "zero_frames.mp4": "the file has no video stream",
    "truncated_half.mkv": "decode error",
    "truncated_half.mp4": "the file has no video stream",  # its index (moov) sits at the end
}


def red_ramp(k: int, height: int, width: int) -> np.ndarray:
    """Frame k: red channel 16 k, so decoded frames show which source frame they are."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[..., 0], image[..., 1] = 16 * k, 128
    return image


def write_video(path: Path, codec: str = "mpeg4", size=(32, 48), num_frames: int = 12, pts_ms=None, rotate=None):
    height, width = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if pts_ms is not None:
            stream.time_base = stream.codec_context.time_base = fractions.Fraction(1, 1000)
        if rotate is not None:
            stream.metadata["rotate"] = str(rotate)
        container.start_encoding()  # writes the header even when no frame follows
        for k in range(num_frames):
            frame = av.VideoFrame.from_ndarray(red_ramp(k, height, width), format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[k], fractions.Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def write_audio_only(path: Path) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mp2", rate=16000)
        stream.layout = "mono"
        for k in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1152), dtype=np.int16), format="s16", layout="mono")
            frame.sample_rate, frame.pts = 16000, k * 1152
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def truncate(source: Path, target: Path) -> None:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])


MAKERS = {
    "good.mp4": lambda p: write_video(p),
    "zero_byte.mp4": lambda p: p.write_bytes(b""),
    "not_video.mp4": lambda p: p.write_text("this is not a video\n" * 50),
    "audio_only.mkv": write_audio_only,
    "zero_frames.mkv": lambda p: write_video(p, num_frames=0),
    "zero_frames.mp4": lambda p: write_video(p, num_frames=0),
    "short_3_frames.mp4": lambda p: write_video(p, num_frames=3),
    "portrait_48x32.mp4": lambda p: write_video(p, size=(48, 32)),
    "rotate_90_metadata.mp4": lambda p: write_video(p, rotate=90),
    "variable_frame_rate.mkv": lambda p: write_video(
        p, codec="libx264", pts_ms=[0, 10, 50, 60, 200, 210, 300, 400, 410, 420, 600, 700]),
    "tiny_32x24.mp4": lambda p: write_video(p, size=(24, 32)),
    "large_1280x720.mp4": lambda p: write_video(p, size=(720, 1280), num_frames=4),
    "vp8.webm": lambda p: write_video(p, codec="libvpx"),
    "vp9.webm": lambda p: write_video(p, codec="libvpx-vp9"),
    "h264.mkv": lambda p: write_video(p, codec="libx264"),
    "mpeg4.avi": lambda p: write_video(p),
    "truncated_half.mkv": lambda p: truncate(p.parent / "h264.mkv", p),
    "truncated_half.mp4": lambda p: truncate(p.parent / "good.mp4", p),
}
NAMES = list(MAKERS)


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    """The videos above, listed with labels 0, 1, 2, 0, ... in train.csv and test.csv."""
    folder = tmp_path_factory.mktemp("hostile")
    for name, make in MAKERS.items():
        make(folder / name)
    lines = "".join(f"{name} {i % 3}\n" for i, name in enumerate(NAMES))
    for split in ("train", "test"):
        (folder / f"{split}.csv").write_text(lines)
    return folder


def reds(clip) -> list[float]:
    """Mean red value of each frame of a [3, T, H, W] clip."""
    return clip[0].float().mean(dim=(1, 2)).tolist()


def test_every_odd_video_decodes_in_training_or_is_replaced_with_a_logged_reason(hostile_dir, caplog):
    dataset = Kinetics(str(hostile_dir), "train", OPTIONS)
    caplog.set_level(logging.WARNING)
    for index, name in enumerate(NAMES):
        caplog.clear()
        clip, label, used = dataset[(index, SHAPE, 0)]
        assert tuple(clip.shape) == (3, 8, 32, 32), name
        assert label == used % 3
        if name in SKIPPED:
            assert used != index and NAMES[used] not in SKIPPED, name
            expected = f"Skipping training video {hostile_dir / name}: {SKIPPED[name]}"
            assert expected in caplog.text, (name, caplog.text)
        else:
            assert used == index and "Skipping" not in caplog.text, (name, caplog.text)
            assert np.all(np.diff(reds(clip)) > -6), (name, reds(clip))  # frames in time order


def test_every_odd_video_decodes_in_testing_or_counts_as_failed_with_a_logged_reason(hostile_dir, caplog):
    dataset = Kinetics(str(hostile_dir), "test", OPTIONS)
    caplog.set_level(logging.WARNING)
    for index, name in enumerate(NAMES):
        for view in range(2):
            caplog.clear()
            clip, label, entry = dataset[index * 2 + view]
            assert entry == index * 2 + view and tuple(clip.shape) == (3, 8, 32, 32)
            if name in SKIPPED:
                assert label == -1 and int(clip.sum()) == 0
                assert f"Counting test video {hostile_dir / name} as failed: {SKIPPED[name]}" in caplog.text
                continue
            assert label == index % 3 and caplog.text == "", (name, caplog.text)
            red = reds(clip)
            assert np.all(np.diff(red) > -6), (name, view, red)
            if view == 0:  # the first view starts at the first frame (red 0), the last ends late
                assert red[0] < 6, (name, red)
            else:
                assert red[-1] > 16 * 2 - 6, (name, red)


def test_csv_problems_name_the_file_and_line(tmp_path):
    cases = {
        "a.mp4 0\nb.mp4 7\n": r"train.csv:2: label 7 is outside \[0, MODEL.NUM_CLASSES=3\)",
        "a.mp4 0\nb.mp4 -1\n": r"train.csv:2: label -1 is outside",
        "a.mp4 0\n\nonly_a_path.mp4\n": r"train.csv:3: cannot parse 'only_a_path.mp4'",
        "a.mp4 zero\n": r"train.csv:1: cannot parse 'a.mp4 zero'",
        "": r"train.csv' lists no videos",
    }
    for text, message in cases.items():
        (tmp_path / "train.csv").write_text(text)
        with pytest.raises(DataError, match=message):
            read_video_list(str(tmp_path), "train", " ", 3)
    (tmp_path / "train.csv").write_bytes(b"a.mp4 0\nvid\xe9o.mp4 1\n")
    with pytest.raises(DataError, match=r"train.csv:2: byte 0xe9 at column 4 is not valid UTF-8"):
        read_video_list(str(tmp_path), "train", " ", 3)
    # UTF-8 names with spaces are fine, and so is the byte-order mark some editors write.
    (tmp_path / "train.csv").write_bytes("\ufeffvidéo 1.mp4 1\nb.mp4 2\n".encode("utf-8"))
    paths, labels = read_video_list(str(tmp_path), "train", " ", 3)
    assert paths.tolist() == [str(tmp_path / "vidéo 1.mp4"), str(tmp_path / "b.mp4")]
    assert labels.tolist() == [1, 2]

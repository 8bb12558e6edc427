"""Benchmark video folders: Kinetics-like videos as specified (size, rate, length, keyframes, B-frames)
and copies of given files, each with CSVs the Kinetics dataset loads."""
import json

import av
import pytest
from av.video.frame import PictureType

from slowfast.benchmark.videos import SPEC_FILE, VideoSpec, copy_videos, write_kinetics_like
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.options import DatasetOptions

OPTIONS = DatasetOptions(num_classes=2, num_frames=4, sampling_rate=2, train_jitter_scales=(48, 56),
                         train_crop_size=32)


def test_written_videos_follow_the_spec_and_the_csvs_load(tmp_path):
    spec = VideoSpec(width=64, height=48, fps=10, seconds=2.0, keyframe_interval=6, num_classes=2)
    paths = write_kinetics_like(str(tmp_path), 3, spec)
    with av.open(paths[0]) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 64, 48)
        assert float(stream.average_rate) == 10.0
        keyframes = [i for i, packet in enumerate(container.demux(stream)) if packet.is_keyframe]
    assert keyframes == [0, 6, 12, 18]
    dataset = Kinetics(str(tmp_path), "train", OPTIONS)
    assert dataset.num_videos == 3 and list(dataset.labels) == [0, 1, 0]
    clip, label, _ = dataset[0]
    assert tuple(clip.shape) == (3, 4, 32, 32) and label == 0


def test_the_default_spec_is_kinetics_as_downloaded_with_b_frames(tmp_path):
    spec = VideoSpec()
    assert (spec.width, spec.height, spec.fps, spec.num_frames, spec.keyframe_interval) == (340, 256, 30, 300, 250)
    small = VideoSpec(width=64, height=48, fps=30, seconds=1.0)  # 30 frames: one keyframe, B-frames between P
    (path,) = write_kinetics_like(str(tmp_path), 1, small)
    with av.open(path) as container:
        types = [PictureType(frame.pict_type).name for frame in container.decode(video=0)]
    assert len(types) == 30 and types[0] == "I" and types.count("I") == 1 and "B" in types


def test_a_folder_of_other_videos_is_an_error_not_measured(tmp_path):
    write_kinetics_like(str(tmp_path), 1, VideoSpec(width=64, height=48, fps=10, seconds=0.5, keyframe_interval=5))
    assert json.loads((tmp_path / SPEC_FILE).read_text())["keyframe_interval"] == 5
    with pytest.raises(ValueError, match="holds videos written as .* delete the folder or write to another one"):
        write_kinetics_like(str(tmp_path), 1, VideoSpec(width=64, height=48, fps=10, seconds=0.5, keyframe_interval=3))
    (tmp_path / SPEC_FILE).unlink()
    with pytest.raises(ValueError, match="holds videos of an unknown spec"):
        write_kinetics_like(str(tmp_path), 1, VideoSpec(width=64, height=48, fps=10, seconds=0.5, keyframe_interval=5))


def test_copied_videos_make_a_kinetics_folder(tmp_path):
    sources = write_kinetics_like(str(tmp_path / "src"), 2, VideoSpec(width=64, height=48, fps=10, seconds=1.0))
    paths = copy_videos(str(tmp_path / "copy"), [sources[1], sources[0]], num_classes=2)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["0000_video_0001.mp4", "0001_video_0000.mp4"]
    assert (tmp_path / "copy" / "videos" / "0000_video_0001.mp4").read_bytes() == open(sources[1], "rb").read()
    dataset = Kinetics(str(tmp_path / "copy"), "train", OPTIONS)
    assert [dataset.video_path(i) for i in range(2)] == paths and list(dataset.labels) == [0, 1]
    with pytest.raises(ValueError, match=r"not found: \['missing.mp4'\]"):
        copy_videos(str(tmp_path / "copy"), ["missing.mp4"])

"""Kinetics-like benchmark videos: size, rate, length, keyframe interval and CSVs as specified."""
import av

from slowfast.benchmark.videos import VideoSpec, write_kinetics_like
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.options import DatasetOptions


def test_written_videos_follow_the_spec_and_the_csvs_load(tmp_path):
    spec = VideoSpec(width=64, height=48, fps=10, seconds=2.0, keyframe_interval=6, num_classes=2)
    paths = write_kinetics_like(str(tmp_path), 3, spec)
    with av.open(paths[0]) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 64, 48)
        assert float(stream.average_rate) == 10.0
        keyframes = [i for i, packet in enumerate(container.demux(stream)) if packet.is_keyframe]
    assert keyframes == [0, 6, 12, 18]
    dataset = Kinetics(str(tmp_path), "train", DatasetOptions(num_classes=2, num_frames=4, sampling_rate=2,
                                                               train_jitter_scales=(48, 56), train_crop_size=32))
    assert dataset.num_videos == 3 and list(dataset.labels) == [0, 1, 0]
    clip, label, _ = dataset[0]
    assert tuple(clip.shape) == (3, 4, 32, 32) and label == 0

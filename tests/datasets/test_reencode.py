"""Re-encoding a Kinetics-style folder: new size and keyframes, CSVs rewritten, broken videos dropped."""
import io

import av
import pytest

from slowfast.benchmark.videos import VideoSpec, write_video
from slowfast.datasets.reencode import EncodeOptions, even_size, prepare_folder


def test_even_size_keeps_the_aspect_and_rounds_down_to_even():
    assert even_size(256, 340, 128) == (128, 170)
    assert even_size(60, 80, 33) == (32, 44)


@pytest.fixture
def folder(tmp_path):
    source = tmp_path / "in"
    (source / "clips").mkdir(parents=True)
    spec = VideoSpec(width=80, height=60, fps=10, seconds=1.5, keyframe_interval=30)
    for index in range(2):
        write_video(str(source / "clips" / f"v{index}.mp4"), spec, seed=index)
    (source / "clips" / "broken.mp4").write_bytes(b"not a video")
    (source / "train.csv").write_text("clips/v0.mp4 0\nclips/broken.mp4 1\n")
    (source / "val.csv").write_text(f"{source / 'clips' / 'v1.mp4'} 1\n")
    return tmp_path


def test_prepare_folder_reencodes_listed_videos_and_keeps_the_csvs_valid(folder):
    output = folder / "out"
    failures = prepare_folder(str(folder / "in"), str(output), EncodeOptions(short_side=32, keyframe_interval=5),
                              workers=1, progress=None)
    assert list(failures) == [str(folder / "in" / "clips" / "broken.mp4")]
    assert (output / "train.csv").read_text() == "clips/v0.mp4 0\n"
    assert (output / "val.csv").read_text() == f"{output / 'clips' / 'v1.mp4'} 1\n"
    assert not (output / "test.csv").exists()
    with av.open(str(output / "clips" / "v0.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.height, stream.codec_context.width) == (32, 42)
        keyframes = [i for i, packet in enumerate(container.demux(stream)) if packet.is_keyframe]
    assert keyframes == [0, 5, 10]


def test_a_folder_without_csvs_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="has none of"):
        prepare_folder(str(tmp_path), str(tmp_path / "out"), EncodeOptions(), progress=None)


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream, shown", [(io.StringIO(), False), (Terminal(), True)])
def test_progress_bar_only_on_a_terminal(folder, stream, shown):
    prepare_folder(str(folder / "in"), str(folder / "out"), EncodeOptions(short_side=32), workers=1,
                   progress=stream)
    text = stream.getvalue()
    assert ("re-encoding" in text and "3/3" in text and "failed=1" in text) == shown
    assert shown or text == ""

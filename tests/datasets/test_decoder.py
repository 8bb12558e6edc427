import av
import numpy as np
import pytest

from slowfast.datasets.decoder import VideoDecodeError, VideoInfo, decode_clip, decode_stats, reset_decode_stats
from slowfast.datasets.h264 import write_h264
from slowfast.datasets.temporal_sampling import clip_frame_indices, ensemble_view_start


def decode_frames(path: str, indices, threads: bool = False) -> np.ndarray:
    """The frames at fixed ``indices``, through decode_clip (which picks them from metadata)."""
    return decode_clip(path, lambda info: indices, threads)


@pytest.mark.parametrize("wanted", [[0, 1, 2, 3], [26, 28, 30, 33], [52, 54, 56, 59], [30, 30, 31, 59]])
def test_decodes_exactly_the_requested_frames(index_video, frame_numbers, wanted):
    frames = decode_frames(index_video, np.array(wanted))
    assert frames.shape == (4, 48, 64, 3) and frames.dtype == np.uint8
    assert frame_numbers(frames) == wanted


def test_threaded_decoding_gives_the_same_frames(index_video):
    wanted = np.array([5, 17, 29, 41])
    np.testing.assert_array_equal(decode_frames(index_video, wanted, threads=True), decode_frames(index_video, wanted))


def test_decode_clip_picks_indices_from_the_metadata(index_video, frame_numbers):
    seen = []

    def choose(info):
        seen.append(info)
        return clip_frame_indices(info.frame_count, info.fps, 4, 2, 30.0, ensemble_view_start(2, 3))

    assert frame_numbers(decode_clip(index_video, choose)) == [52, 54, 56, 59]
    assert seen == [VideoInfo(frame_count=60, fps=30.0)]


def test_seeks_to_the_keyframe_before_the_first_needed_frame(index_video, frame_numbers):
    reset_decode_stats()
    assert frame_numbers(decode_frames(index_video, np.array([30]))) == [30]
    assert decode_stats().frames_decoded == 7  # keyframes every 12 frames: decodes 24 to 30


def test_indices_past_the_end_repeat_the_last_frame(index_video, frame_numbers):
    assert frame_numbers(decode_frames(index_video, np.array([58, 59, 70]))) == [58, 59, 59]


@pytest.mark.parametrize("file_name", ["index.mkv", "index.ts", "index.h264"])
def test_other_containers_and_missing_metadata(make_index_video, frame_numbers, file_name):
    # mkv: no frame count; ts: timestamps do not start at 0; raw h264: no timestamps or duration at all
    path = make_index_video(file_name)
    assert frame_numbers(decode_frames(path, np.array([0, 13, 30, 59]))) == [0, 13, 30, 59]


def test_unreadable_files_raise_decode_error_naming_the_path(tmp_path, index_video):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    truncated = tmp_path / "truncated.mp4"
    content = open(index_video, "rb").read()
    truncated.write_bytes(content[: len(content) // 2])
    no_frames = str(tmp_path / "no_frames.mp4")
    write_h264(no_frames, [], 30, 48, 64, {})
    for path in (empty, text, truncated, no_frames, str(tmp_path / "missing.mp4")):
        with pytest.raises(VideoDecodeError, match="cannot decode video") as raised:
            decode_frames(str(path), np.array([0, 1]))
        assert raised.value.path == str(path) and str(path) in str(raised.value)
        assert raised.value.reason


def test_truncated_file_with_header_first_raises_decode_error(tmp_path):
    path = str(tmp_path / "faststart.mp4")
    frames = (np.full((48, 64, 3), 4 * k, np.uint8) for k in range(60))
    write_h264(path, frames, 30, 48, 64, {"g": "12"}, container_options={"movflags": "faststart"})
    content = open(path, "rb").read()
    open(path, "wb").write(content[: len(content) // 2])
    with pytest.raises(VideoDecodeError, match="decode error"):
        decode_frames(path, np.array([0, 30, 59]))


def test_file_without_video_stream(tmp_path):
    path = str(tmp_path / "audio.m4a")
    with av.open(path, mode="w") as container:
        stream = container.add_stream("aac", rate=8000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(VideoDecodeError, match="no video stream"):
        decode_frames(path, np.array([0]))


def test_decode_error_survives_pickling():
    import pickle

    error = pickle.loads(pickle.dumps(VideoDecodeError("/a.mp4", "broken")))
    assert (error.path, error.reason) == ("/a.mp4", "broken")

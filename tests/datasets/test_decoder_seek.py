"""decode_clip decodes only what the sampled frames need and scales them while converting.

Against a reference that decodes every frame from the start, numbers frames by timestamp and
picks the clip's indices, for every clip shape of the K400 multigrid schedule: the same pixels at
the stored size and, scaled (decoder.SCALER "cv2", the default), the same pixels as that reference
resized after decoding with ``short_side_resize``; with SCALER "swscale" (one reformat to
the target size) within SCALED_MAX_ABS / SCALED_MEAN_ABS of it.
"""
import fractions
import struct

import av
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter

from slowfast.config.loading import load_config
from slowfast.datasets import decoder
from slowfast.datasets.decoder import decode_clip, decode_stats, reset_decode_stats
from slowfast.datasets.h264 import fixed_keyframes, write_h264
from slowfast.datasets.temporal_sampling import clip_frame_indices
from slowfast.datasets.transforms import resized_shape, short_side_resize
from slowfast.multigrid.schedule import build_schedule

HEIGHT, WIDTH, NUM_FRAMES = 48, 64, 300
# SCALER "swscale" (bilinear, full-chroma output) against converting at the stored size then
# cv2.INTER_LINEAR, on these smooth frames at short sides 24, 34 and 60 (stored 48): measured
# max abs 6 levels, mean abs at most 1.30 per clip (PyAV 18.1, libswscale 9.5). They differ in
# how 4:2:0 chroma is interpolated (swscale scales the chroma planes before converting) and in
# the bilinear kernels, which widen with the factor when swscale downscales; the bounds leave
# 1.5x room. On Kinetics-like texture with saturated edges and noise (slowfast.benchmark.videos,
# 340x256 to short sides 112-320) the same comparison gives max 79, mean up to 4.4 per clip.
SCALED_MAX_ABS, SCALED_MEAN_ABS = 9, 2.0


YS, XS = np.mgrid[0:HEIGHT, 0:WIDTH]


def smooth_frame(k: int) -> np.ndarray:
    """Frame k: red 4k (mod 256), a horizontal green ramp moving with k, a vertical blue ramp."""
    ys, xs = YS, XS
    image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    image[..., 0] = (4 * k) % 256
    image[..., 1] = 3 * xs + k % 40
    image[..., 2] = 4 * ys + 30
    return image


def write_variable_rate(path: str, pts_ms: list, keyframe_interval: int) -> None:
    with av.open(path, "w") as container:
        options = {"x264-params": fixed_keyframes(keyframe_interval), "preset": "veryfast"}
        stream = container.add_stream("libx264", rate=30, options=options)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for k, pts in enumerate(pts_ms):
            frame = av.VideoFrame.from_ndarray(smooth_frame(k), format="rgb24")
            frame.pts, frame.time_base = pts, fractions.Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def scale_header_duration(source: str, target: str, factor: float) -> None:
    """Copy an MKV with its segment duration (EBML 0x4489, 8-byte float) times ``factor``, so the
    frame count estimated from the header is wrong."""
    data = bytearray(open(source, "rb").read())
    at = data.find(b"\x44\x89\x88") + 3
    (duration,) = struct.unpack(">d", data[at:at + 8])
    data[at:at + 8] = struct.pack(">d", duration * factor)
    open(target, "wb").write(bytes(data))


def write_gop(path: str, interval: int, extra: str = "") -> str:
    frames = (smooth_frame(k) for k in range(NUM_FRAMES))
    options = {"x264-params": fixed_keyframes(interval) + extra, "preset": "veryfast"}  # keeps 3 B-frames
    write_h264(path, frames, 30, HEIGHT, WIDTH, options)
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, str]:
    """Name -> path: keyframe intervals 1, 8, 60, 250 (x264's default 3 B-frames), a B-pyramid,
    MKV and MPEG-TS, variable frame rate (MP4, MKV) and MKV headers whose duration is wrong."""
    folder = tmp_path_factory.mktemp("seek")
    paths = {f"gop{g}.mp4": write_gop(str(folder / f"gop{g}.mp4"), g) for g in (1, 8, 60, 250)}
    paths["bpyramid.mp4"] = write_gop(str(folder / "bpyramid.mp4"), 30, ":bframes=5:b-pyramid=normal")
    paths["gop8.mkv"] = write_gop(str(folder / "gop8.mkv"), 8)
    paths["gop8.ts"] = write_gop(str(folder / "gop8.ts"), 8)
    steps = np.random.default_rng(0).choice([10, 33, 33, 33, 50, 100], size=NUM_FRAMES)
    pts_ms = np.concatenate([[0], np.cumsum(steps)[:-1]]).tolist()
    for name in ("vfr.mp4", "vfr.mkv"):
        write_variable_rate(str(folder / name), pts_ms, 8)
        paths[name] = str(folder / name)
    for factor, name in ((2.0, "header_double.mkv"), (0.5, "header_half.mkv")):
        scale_header_duration(paths["gop8.mkv"], str(folder / name), factor)
        paths[name] = str(folder / name)
    return paths


@pytest.fixture(scope="module")
def reference(videos):
    """Path -> every frame decoded from the start: (indices by timestamp, RGB frames)."""
    decoded = {}
    rgb = VideoReformatter()  # frame.to_ndarray(format="rgb24") per frame: same pixels, 1.6 ms each
    for path in videos.values():
        with av.open(path) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or stream.base_rate)
            origin = stream.start_time or 0
            numbered = [(int(round(float((f.pts - origin) * stream.time_base) * fps)),
                         rgb.reformat(f, format="rgb24").to_ndarray()) for f in container.decode(stream)]
        decoded[path] = ([n for n, _ in numbered], np.stack([image for _, image in numbered]))
    return decoded


def reference_clip(reference, path: str, indices) -> np.ndarray:
    """The frame numbered i (the first one) for each index i; a missing index takes the last
    frame before it, an index past the end the last frame."""
    numbers, frames = reference[path]
    chosen = []
    for index in indices:
        position = int(np.searchsorted(numbers, index, side="left"))
        if position == len(numbers) or numbers[position] != index:
            position = max(position - 1, 0)
        chosen.append(frames[position])
    return np.stack(chosen)


def schedule_shapes():
    cfg = load_config("configs/Kinetics/SLOWFAST_8x8_R50_MG.yaml")
    shapes = {shape for stage in build_schedule(cfg).stages for shape in stage.short_cycle_shapes}
    return sorted(shapes, key=lambda shape: (shape.num_frames, shape.crop_size))


SHAPES = schedule_shapes()


def test_the_schedule_has_every_multigrid_shape():
    assert [(s.num_frames, s.crop_size) for s in SHAPES] == [
        (8, 112), (8, 158), (16, 112), (16, 158), (16, 224), (32, 112), (32, 158), (32, 224)]


def decode_recording(path: str, num_frames: int, rate: int, start: float, short_side=None, threads=False):
    """decode_clip of one clip, and the indices it picked from the metadata."""
    picked = []

    def choose(info):
        picked.append(clip_frame_indices(info.frame_count, info.fps, num_frames, rate, 30.0, start))
        return picked[-1]

    return decode_clip(path, choose, threads, short_side), picked[0]


def clips_of(shape):
    """(sampling rate, start) of the clips tried for a shape: both ends of its rate range, a start
    inside the video and the last one."""
    low, high = shape.sampling_rate
    return [(low, 0.37), (high, 1.0)]


@pytest.mark.parametrize("name", ["gop1.mp4", "gop8.mp4", "gop60.mp4", "gop250.mp4", "bpyramid.mp4", "gop8.mkv",
                                  "gop8.ts", "vfr.mp4", "vfr.mkv", "header_double.mkv", "header_half.mkv"])
def test_same_frames_as_decoding_everything_and_scaled_as_resizing_them(videos, reference, name, monkeypatch):
    path = videos[name]
    decoder._KEYFRAME_CACHE.clear()
    errors = []
    for shape in SHAPES:
        # The shape's short sides in proportion to this 48-pixel video (the schedule's are for
        # 256-pixel Kinetics): below, at and above the stored size.
        short_sides = sorted({round(side * HEIGHT / 256) for side in shape.jitter_scales})
        for rate, start in clips_of(shape):
            frames, indices = decode_recording(path, shape.num_frames, rate, start)
            expected = reference_clip(reference, path, indices)
            assert np.array_equal(frames, expected), (name, shape, rate, start, indices.tolist())
            for short_side in short_sides:
                scaled, _ = decode_recording(path, shape.num_frames, rate, start, short_side)
                baseline = short_side_resize(expected, short_side)
                size = resized_shape(HEIGHT, WIDTH, short_side)
                assert scaled.shape == baseline.shape == (shape.num_frames, *size, 3)
                assert np.array_equal(scaled, baseline), (name, shape, rate, start, short_side)
                with monkeypatch.context() as patch:
                    patch.setattr(decoder, "SCALER", "swscale")
                    one_pass, _ = decode_recording(path, shape.num_frames, rate, start, short_side)
                difference = np.abs(one_pass.astype(int) - baseline)
                errors.append((difference.max(), difference.mean()))
    worst_max, worst_mean = np.max(errors, axis=0)
    assert worst_max <= SCALED_MAX_ABS and worst_mean <= SCALED_MEAN_ABS, (name, worst_max, worst_mean)


def test_short_side_equal_to_the_stored_one_is_the_stored_frames(videos):
    path = videos["gop8.mp4"]
    stored, _ = decode_recording(path, 8, 4, 0.5)
    same, _ = decode_recording(path, 8, 4, 0.5, short_side=HEIGHT)
    assert np.array_equal(same, stored)


def test_swscale_converts_only_the_target_pixels(videos, monkeypatch):
    monkeypatch.setattr(decoder, "SCALER", "swscale")
    reset_decode_stats()
    frames, _ = decode_recording(videos["gop8.mp4"], 8, 4, 0.5, short_side=24)
    assert frames.shape == (8, 24, 32, 3) and decode_stats().pixels_converted == 8 * 24 * 32


@pytest.mark.parametrize("name", ["gop60.mp4", "vfr.mkv", "gop8.ts"])
def test_threaded_decoding_gives_the_same_frames(videos, name):
    for start in (0.0, 0.6):
        plain, _ = decode_recording(videos[name], 16, 4, start)
        threaded, _ = decode_recording(videos[name], 16, 4, start, threads=True)
        assert np.array_equal(plain, threaded)


def frames_decoded_by_the_seek_rule(indices, keyframe_interval: int) -> int:
    """Frames the decoder outputs under the rule: seek to the keyframe before the next needed
    frame when it lies beyond the frame after the current position, else decode on."""
    count, position = 0, -1
    for index in np.unique(indices):
        keyframe = index // keyframe_interval * keyframe_interval
        count += index - keyframe + 1 if keyframe > position + 1 else index - position
        position = index
    return int(count)


@pytest.mark.parametrize("interval", [1, 8, 60, 250])
def test_counters_follow_the_seek_rule(videos, interval):
    indices = np.array([100, 108, 116, 116, 150, 151, 270])
    reset_decode_stats()
    decode_clip(videos[f"gop{interval}.mp4"], lambda info: indices)
    stats = decode_stats()
    assert stats.frames_decoded == frames_decoded_by_the_seek_rule(indices, interval)
    assert stats.frames_converted == 6 and stats.pixels_converted == 6 * HEIGHT * WIDTH


def test_short_keyframe_interval_decodes_fewer_frames_and_converts_only_sampled_ones(videos):
    decoded = {}
    for name in ("gop1.mp4", "gop250.mp4"):
        reset_decode_stats()
        frames, indices = decode_recording(videos[name], 8, 8, 0.5, short_side=24)
        stats = decode_stats()
        decoded[name] = stats.frames_decoded
        unique = len(np.unique(indices))
        assert stats.frames_converted == unique == 8  # at the stored size, then resized (SCALER "cv2")
        assert stats.pixels_converted == unique * HEIGHT * WIDTH and frames.shape == (8, 24, 32, 3)
    assert decoded["gop1.mp4"] == 8 and decoded["gop250.mp4"] > 100


def test_stats_are_cumulative_until_reset(videos):
    reset_decode_stats()
    assert decode_stats() == decoder.DecodeStats(0, 0, 0)
    decode_clip(videos["gop1.mp4"], lambda info: np.array([3]))
    decode_clip(videos["gop1.mp4"], lambda info: np.array([5, 6]))
    assert decode_stats() == decoder.DecodeStats(3, 3, 3 * HEIGHT * WIDTH)
    with pytest.raises(AttributeError):
        decode_stats().frames_decoded = 0  # frozen


def test_a_seek_landing_after_its_keyframe_retries_earlier(videos, reference):
    # MPEG-TS seeks compare dts: a pts target lands one keyframe late, so the table learns dts.
    path = videos["gop8.ts"]
    decoder._KEYFRAME_CACHE.clear()
    indices = np.array([9, 10, 40, 41])
    assert np.array_equal(decode_clip(path, lambda info: indices), reference_clip(reference, path, indices))
    (keyframes,) = decoder._KEYFRAME_CACHE.values()
    assert keyframes.prefer_dts
    reset_decode_stats()
    decode_clip(path, lambda info: indices)
    assert decode_stats().frames_decoded == frames_decoded_by_the_seek_rule(indices, 8)


def test_a_keyframe_whose_seek_misses_is_decoded_through_not_sought_again(videos, reference, monkeypatch):
    # A table whose keyframe 3 (frame 24) has a pts and dts far past its frame: every seek to it lands
    # late and falls back to keyframe 2, from which the clip must be decoded through.
    path = videos["gop8.mp4"]
    decoder._KEYFRAME_CACHE.clear()
    decode_clip(path, lambda info: np.array([0]))
    (keyframes,) = decoder._KEYFRAME_CACHE.values()
    keyframes.pts[3], keyframes.dts[3] = keyframes.pts[10], keyframes.dts[10]
    seeks = []
    real_seek = decoder._seek

    def counted_seek(*args):
        seeks.append(args[4])
        if len(seeks) > 20:
            raise AssertionError(f"seeking in a loop: keyframes {seeks}")
        return real_seek(*args)

    monkeypatch.setattr(decoder, "_seek", counted_seek)
    indices = np.array([25, 27, 29])
    assert np.array_equal(decode_clip(path, lambda info: indices), reference_clip(reference, path, indices))
    assert seeks == [3]


def test_keyframes_come_from_the_index_or_the_packets(videos):
    for name, first_served in (("gop8.mp4", [0, 8, 16]), ("gop8.mkv", [0, 8, 16]), ("gop60.mp4", [0, 60, 120])):
        with av.open(videos[name]) as container:
            stream = container.streams.video[0]
            keyframes = decoder._read_keyframes(container, stream, 30.0)
        assert keyframes.first_served[:3] == first_served, name

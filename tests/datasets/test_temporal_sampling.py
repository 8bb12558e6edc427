"""Temporal sampling policies: exact frame indices, by hand and for fixed generator draws."""
import numpy as np
import pytest

from slowfast.datasets.temporal_sampling import (
    CENTRE_START,
    clip_frame_indices,
    clip_length,
    draw_sampling_rate,
    ensemble_view_start,
    random_clip_start,
    random_start,
    segment_frame_indices,
    strided_frame_indices,
    strided_train_indices,
    strided_view_indices,
    view_clip_start,
)


def test_the_sampling_rate_is_uniform_over_the_inclusive_range_in_one_draw():
    rng = np.random.default_rng(0)
    assert [draw_sampling_rate(rng, (2, 8)) for _ in range(8)] == [7, 6, 5, 3, 4, 2, 2, 2]
    twin = np.random.default_rng(0)
    assert [int(twin.integers(2, 9)) for _ in range(8)] == [7, 6, 5, 3, 4, 2, 2, 2]
    assert {draw_sampling_rate(rng, (2, 4)) for _ in range(200)} == {2, 3, 4}
    fixed, other = np.random.default_rng(1), np.random.default_rng(1)
    assert draw_sampling_rate(fixed, (4, 4)) == 4
    other.integers(4, 5)  # a one-value range still takes its draw
    assert fixed.uniform() == other.uniform()


# ---- span at a target frame rate (Kinetics) ----


def indices(start_fraction, frame_count=60, fps=30.0, num_frames=4, sampling_rate=2, target_fps=30.0):
    return clip_frame_indices(frame_count, fps, num_frames, sampling_rate, target_fps, start_fraction).tolist()


def test_centre_clip_spans_sampling_rate_times_frames():
    # span 8 frames, start = 0.5 * (60 - 8) = 26, linspace(26, 33, 4) truncated
    assert indices(CENTRE_START) == [26, 28, 30, 33]


def test_train_start_is_drawn_from_the_generator():
    start = random_start(np.random.default_rng(0))
    assert start == np.random.default_rng(0).uniform()
    # 0.63696... * 52 = 33.12 -> linspace(33.12, 40.12, 4)
    assert indices(start) == [33, 35, 37, 40]


def test_test_views_span_the_whole_video():
    starts = [ensemble_view_start(view, 3) for view in range(3)]
    assert starts == [0.0, 0.5, 1.0]
    assert [indices(s) for s in starts] == [[0, 2, 4, 7], [26, 28, 30, 33], [52, 54, 56, 59]]
    assert ensemble_view_start(0, 1) == CENTRE_START


def test_short_video_repeats_its_last_frame():
    assert indices(0.7, frame_count=5) == [0, 2, 4, 4]


def test_span_follows_source_fps():
    # 60 fps source, 30 fps target: the same clip covers twice as many source frames
    assert indices(0.0, fps=60.0) == [0, 5, 10, 15]


def test_start_fraction_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="start_fraction"):
        indices(1.5)


@pytest.mark.parametrize(
    "seed, clips",
    [
        # (rate, start fraction, indices): seed 0's first clip spans 16 frames from 0.2698 * 44 = 11.87
        (0, [(4, 0.2698, [11, 16, 21, 26]), (3, 0.0410, [1, 5, 9, 12]), (1, 0.8133, [45, 46, 47, 48])]),
        (1, [(2, 0.9505, [49, 51, 54, 56]), (3, 0.1442, [6, 10, 14, 17]), (4, 0.3118, [13, 18, 23, 28])]),
    ],
)
def test_training_clips_draw_the_rate_then_the_start(seed, clips):
    # Kinetics' training draws for a 60-frame 30 fps video, 4 frames, rates 1-4, three clips in a row.
    rng = np.random.default_rng(seed)
    for rate, start_fraction, expected in clips:
        drawn_rate = draw_sampling_rate(rng, (1, 4))
        start = random_start(rng)
        assert (drawn_rate, round(start, 4)) == (rate, start_fraction)
        assert indices(start, sampling_rate=drawn_rate) == expected


# ---- strided (Charades) ----


def test_strided_helpers_hand_computed():
    assert clip_length(4, 3) == 10
    # 20 frames, span 10, 3 views: gap 5, starts 0, 5, 10; one view: the centre.
    assert [view_clip_start(20, 10, v, 3) for v in range(3)] == [0, 5, 10]
    assert view_clip_start(20, 10, 0, 1) == 5
    assert view_clip_start(5, 10, 1, 3) == 0
    assert strided_frame_indices(20, 10, 4, 3).tolist() == [10, 13, 16, 19]
    # A clip longer than the video starts at or before frame 0 and is clamped.
    assert strided_frame_indices(5, -2, 4, 2).tolist() == [0, 0, 2, 4]
    rng = np.random.default_rng(0)
    assert {random_clip_start(5, 7, rng) for _ in range(100)} == {-2, -1, 0}
    assert {random_clip_start(8, 7, rng) for _ in range(100)} == {0, 1}


def test_strided_views_hand_computed():
    # 12 frames, 3 frames 2 apart (span 5): one view starts at round(7 / 2) = 4; two at 0 and 7.
    assert strided_view_indices(12, 3, 2, 0, 1).tolist() == [4, 6, 8]
    assert [strided_view_indices(12, 3, 2, v, 2).tolist() for v in (0, 1)] == [[0, 2, 4], [7, 9, 11]]
    assert [strided_view_indices(5, 3, 2, v, 2).tolist() for v in (0, 1)] == [[0, 2, 4], [0, 2, 4]]
    assert strided_view_indices(3, 3, 2, 0, 1).tolist() == [0, 2, 2]


@pytest.mark.parametrize(
    "seed, num_video_frames, rates, clips",
    [
        # seed 0's first clip: rate 7 (span 22 of 30 frames), start 5
        (0, 30, (2, 8), [[5, 12, 19, 26], [4, 9, 14, 19], [0, 4, 8, 12]]),
        (3, 30, (2, 8), [[0, 7, 14, 21], [4, 7, 10, 13], [16, 19, 22, 25]]),
        # 5 frames: a clip longer than the video starts before frame 0, clamped (rate 3 from -2: 0, 1, 4, 4)
        (0, 5, (1, 3), [[0, 1, 4, 4], [0, 0, 2, 4], [0, 1, 2, 3]]),
    ],
)
def test_strided_training_clips_for_fixed_draws(seed, num_video_frames, rates, clips):
    rng = np.random.default_rng(seed)
    assert [strided_train_indices(num_video_frames, 4, rates, rng).tolist() for _ in clips] == clips
    # The same draws spelled out: the rate, then the start over every position of that span.
    twin = np.random.default_rng(seed)
    for expected in clips:
        rate = int(twin.integers(rates[0], rates[1] + 1))
        start = random_clip_start(num_video_frames, clip_length(4, rate), twin)
        assert strided_frame_indices(num_video_frames, start, 4, rate).tolist() == expected


# ---- segments (SSv2) ----


def test_segment_centres_hand_computed():
    # L=10, T=3: segment 3 frames, spans 0-3, 3-6, 6-9, centres (start + end) // 2.
    assert segment_frame_indices(10, 3).tolist() == [1, 4, 7]
    # L=6, T=4: 1.25 * i = 0, 1.25, 2.5, 3.75, 5 rounds (half to even) to 0, 1, 2, 4, 5.
    assert segment_frame_indices(6, 4).tolist() == [0, 1, 3, 4]
    # Several views spread over each span instead of repeating the centre.
    assert [segment_frame_indices(10, 3, view=v, num_views=2).tolist() for v in (0, 1)] == [[0, 3, 6], [2, 5, 8]]
    # Fewer frames than segments repeat frames: spans 0-0, 0-0, 0-1, 1-1.
    assert segment_frame_indices(2, 4).tolist() == [0, 0, 0, 1]


def test_training_picks_uniformly_within_each_segment():
    rng = np.random.default_rng(0)
    draws = np.stack([segment_frame_indices(6, 4, rng) for _ in range(400)])
    spans = [(0, 1), (1, 2), (2, 4), (4, 5)]
    for segment, (start, end) in enumerate(spans):
        assert set(draws[:, segment].tolist()) == set(range(start, end + 1))


@pytest.mark.parametrize("seed, clips", [(0, [[3, 5, 8], [1, 4, 6], [0, 3, 6]]),
                                         (1, [[1, 5, 9], [3, 3, 6], [3, 6, 6]])])
def test_segment_training_clips_for_fixed_draws(seed, clips):
    # L=10, T=3: spans 0-3, 3-6, 6-9; one integer draw per segment.
    rng = np.random.default_rng(seed)
    assert [segment_frame_indices(10, 3, rng).tolist() for _ in clips] == clips


@pytest.mark.parametrize("frames, segments, view, views", [(0, 3, 0, 1), (10, 0, 0, 1), (10, 3, 2, 2)])
def test_segment_arguments_out_of_range_are_rejected(frames, segments, view, views):
    with pytest.raises(ValueError, match=r"need at least one frame|outside \[0, "):
        segment_frame_indices(frames, segments, view=view, num_views=views)

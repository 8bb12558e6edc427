import numpy as np
import pytest
import torch

from slowfast.datasets.transforms import (
    crop,
    horizontal_flip,
    jitter_short_side,
    random_crop,
    random_horizontal_flip,
    random_short_side_scale_jitter,
    resized_shape,
    short_side_resize,
    to_clip_tensor,
    uniform_crop,
)


class MidpointRng:
    """Stands in for a numpy Generator: uniform() returns the middle of the range."""

    def uniform(self, low=0.0, high=1.0):
        return low + 0.5 * (high - low)


def clip(num_frames=2, height=4, width=6, channels=3):
    shape = (num_frames, height, width, channels)
    return np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)


def test_resized_shape_floors_the_long_side():
    assert resized_shape(48, 64, 32) == (32, 42)  # 64 / 48 * 32 = 42.67
    assert resized_shape(64, 48, 32) == (42, 32)
    assert resized_shape(40, 40, 20) == (20, 20)
    assert resized_shape(256, 340, 224) == (224, 297)  # 297.5


def test_short_side_resize_is_bilinear_and_keeps_uint8():
    frames = np.zeros((1, 2, 2, 1), np.uint8)
    frames[0, :, 1, 0] = 100
    resized = short_side_resize(frames, 4)
    assert resized.dtype == np.uint8 and resized.shape == (1, 4, 4, 1)
    np.testing.assert_array_equal(resized[0, :, :, 0], np.tile([0, 25, 75, 100], (4, 1)))


def test_short_side_resize_leaves_matching_frames_alone():
    frames = clip(height=4, width=6)
    assert short_side_resize(frames, 4) is frames
    assert short_side_resize(clip(height=48, width=64), 32).shape == (2, 32, 42, 3)


def test_jitter_sizes_match_pyslowfast_rounding():
    assert jitter_short_side(MidpointRng(), 256, 320) == 288
    assert jitter_short_side(MidpointRng(), 256, 320, inverse_uniform=True) == 284  # 1 / mean(1/320, 1/256) = 284.4
    sizes = {jitter_short_side(np.random.default_rng(seed), 30, 32) for seed in range(100)}
    assert sizes == {30, 31, 32}


def test_random_short_side_scale_jitter_resizes_to_the_drawn_size():
    frames = np.full((2, 48, 64, 3), 7, np.uint8)
    resized = random_short_side_scale_jitter(frames, MidpointRng(), 20, 24)
    assert resized.shape == (2, 22, 29, 3)
    assert np.all(resized == 7)


def test_random_crop_reaches_every_offset():
    frames = clip(num_frames=1, height=5, width=4, channels=1)
    rng = np.random.default_rng(0)
    offsets = set()
    for _ in range(200):
        cropped = random_crop(frames, rng, 3)
        top, left = divmod(int(cropped[0, 0, 0, 0]), 4)
        np.testing.assert_array_equal(cropped, frames[:, top : top + 3, left : left + 3])
        offsets.add((top, left))
    assert offsets == {(top, left) for top in range(3) for left in range(2)}


def test_crop_larger_than_frames_is_rejected():
    with pytest.raises(ValueError, match="crop size 5 exceeds frames of 4x6"):
        random_crop(clip(), np.random.default_rng(0), 5)
    with pytest.raises(ValueError, match="does not fit"):
        crop(clip(), 1, 0, 4)


def test_horizontal_flip():
    frames = clip()
    np.testing.assert_array_equal(horizontal_flip(frames), frames[:, :, ::-1])
    rng = np.random.default_rng(0)
    assert random_horizontal_flip(frames, rng, probability=0.0) is frames
    np.testing.assert_array_equal(random_horizontal_flip(frames, rng, probability=1.0), frames[:, :, ::-1])


def test_uniform_crop_left_centre_right_on_wide_frames():
    frames = clip(height=4, width=9)
    for index, left in [(0, 0), (1, 3), (2, 5)]:  # centre offset ceil(5 / 2) = 3
        np.testing.assert_array_equal(uniform_crop(frames, 4, index), frames[:, :, left : left + 4])


def test_uniform_crop_top_centre_bottom_on_tall_frames():
    frames = clip(height=7, width=4)
    for index, top in [(0, 0), (1, 2), (2, 3)]:
        np.testing.assert_array_equal(uniform_crop(frames, 4, index), frames[:, top : top + 4, :])
    with pytest.raises(ValueError, match="spatial_index"):
        uniform_crop(frames, 4, 3)


def test_to_clip_tensor_is_channels_first_and_contiguous():
    frames = clip()
    tensor = to_clip_tensor(horizontal_flip(frames))
    assert tensor.dtype == torch.uint8 and tensor.shape == (3, 2, 4, 6) and tensor.is_contiguous()
    np.testing.assert_array_equal(tensor.numpy(), frames[:, :, ::-1].transpose(3, 0, 1, 2))

"""Spatial augmentations on uint8 clips laid out ``[T, H, W, C]`` (numpy), before any float conversion.

Crops and flips return views; only resizing allocates. ``to_clip_tensor`` makes the one
contiguous ``[C, T, H, W]`` copy at the end.
"""
import math

import cv2
import numpy as np
import torch


def resized_shape(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) with the short side set to ``short_side``; the long side is floored (PySlowFast)."""
    if width < height:
        return int(math.floor(float(height) / width * short_side)), short_side
    return short_side, int(math.floor(float(width) / height * short_side))


def short_side_resize(frames: np.ndarray, short_side: int) -> np.ndarray:
    """Bilinear resize of every frame so the short side is ``short_side``; unchanged if it already is."""
    num_frames, height, width, channels = frames.shape
    if min(height, width) == short_side:
        return frames
    new_height, new_width = resized_shape(height, width, short_side)
    output = np.empty((num_frames, new_height, new_width, channels), dtype=frames.dtype)
    for index in range(num_frames):
        source = np.ascontiguousarray(frames[index])
        cv2.resize(source, (new_width, new_height), dst=output[index], interpolation=cv2.INTER_LINEAR)
    return output


def jitter_short_side(
    rng: np.random.Generator, min_size: int, max_size: int, inverse_uniform: bool = False
) -> int:
    """Short side for scale jitter: round(U(min, max)), or round(1 / U(1/max, 1/min)) (PySlowFast)."""
    if inverse_uniform:
        return int(round(1.0 / rng.uniform(1.0 / max_size, 1.0 / min_size)))
    return int(round(rng.uniform(min_size, max_size)))


def random_short_side_scale_jitter(
    frames: np.ndarray,
    rng: np.random.Generator,
    min_size: int,
    max_size: int,
    inverse_uniform: bool = False,
) -> np.ndarray:
    """Resize so the short side is a random size in [min_size, max_size]."""
    return short_side_resize(frames, jitter_short_side(rng, min_size, max_size, inverse_uniform))


def crop(frames: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """Square ``size`` crop at (top, left), as a view."""
    _, height, width, _ = frames.shape
    if size > height or size > width or top < 0 or left < 0 or top + size > height or left + size > width:
        raise ValueError(f"crop {size}x{size} at ({top}, {left}) does not fit frames of {height}x{width}")
    return frames[:, top : top + size, left : left + size]


def random_crop(frames: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Square crop at a random offset; every offset, the last included, is reachable."""
    _, height, width, _ = frames.shape
    if size > height or size > width:
        raise ValueError(f"crop size {size} exceeds frames of {height}x{width}; raise the jitter scales")
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    return crop(frames, top, left, size)


def horizontal_flip(frames: np.ndarray) -> np.ndarray:
    """Mirror left-right, as a view."""
    return frames[:, :, ::-1]


def random_horizontal_flip(frames: np.ndarray, rng: np.random.Generator, probability: float = 0.5) -> np.ndarray:
    """Mirror left-right with ``probability``."""
    return horizontal_flip(frames) if rng.uniform() < probability else frames


def uniform_crop(frames: np.ndarray, size: int, spatial_index: int) -> np.ndarray:
    """Test crop: index 1 = centre; 0 / 2 = left / right (top / bottom when taller than wide)."""
    if spatial_index not in (0, 1, 2):
        raise ValueError(f"spatial_index must be 0, 1 or 2, got {spatial_index}")
    _, height, width, _ = frames.shape
    if size > height or size > width:
        raise ValueError(f"crop size {size} exceeds frames of {height}x{width}")
    top = int(math.ceil((height - size) / 2))
    left = int(math.ceil((width - size) / 2))
    if spatial_index != 1:
        if height > width:
            top = 0 if spatial_index == 0 else height - size
        else:
            left = 0 if spatial_index == 0 else width - size
    return crop(frames, top, left, size)


def to_clip_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[T, H, W, C]`` array to a contiguous uint8 ``[C, T, H, W]`` tensor (one copy)."""
    clip = np.empty((frames.shape[3],) + frames.shape[:3], dtype=np.uint8)
    np.copyto(clip, frames.transpose(3, 0, 1, 2))
    return torch.from_numpy(clip)


def augment_train(
    frames: np.ndarray,
    rng: np.random.Generator,
    jitter_scales: tuple[int, int],
    crop_size: int,
    inverse_uniform: bool = False,
    random_flip: bool = True,
) -> np.ndarray:
    """The training pipeline of every dataset: short-side scale jitter, random crop, optional flip."""
    frames = random_short_side_scale_jitter(frames, rng, jitter_scales[0], jitter_scales[1], inverse_uniform)
    return crop_and_flip(frames, rng, crop_size, random_flip)


def crop_and_flip(frames: np.ndarray, rng: np.random.Generator, crop_size: int, random_flip: bool = True) -> np.ndarray:
    """``augment_train`` after the scale jitter (frames already at the drawn short side): crop, optional flip."""
    frames = random_crop(frames, rng, crop_size)
    return random_horizontal_flip(frames, rng) if random_flip else frames

"""Render synthetic motion clips whose class is only visible through temporal order.

Each class is a motion pattern (left/right, up/down, grow/shrink, clockwise/counter-clockwise);
playing a clip backwards turns it into its opposite class. Classes 8-15 are the same patterns
with a larger, faster motion. Difficulty 0..3 adds pixel noise, distractors, flicker and
texture, lowers contrast and shrinks the motion.
"""
import math
from dataclasses import dataclass

import cv2
import numpy as np

PATTERNS = (
    "moving_left",
    "moving_right",
    "moving_up",
    "moving_down",
    "growing",
    "shrinking",
    "rotating_clockwise",
    "rotating_counterclockwise",
)
# Pattern each one becomes when played backwards.
REVERSED_PATTERN = {
    "moving_left": "moving_right",
    "moving_right": "moving_left",
    "moving_up": "moving_down",
    "moving_down": "moving_up",
    "growing": "shrinking",
    "shrinking": "growing",
    "rotating_clockwise": "rotating_counterclockwise",
    "rotating_counterclockwise": "rotating_clockwise",
}
MAX_CLASSES = 2 * len(PATTERNS)
SHAPES = ("square", "disc", "triangle")


@dataclass(frozen=True)
class DifficultyLevel:
    """How hard a level makes the clips."""

    noise_std: float  # Gaussian pixel noise, in grey levels
    max_distractors: int  # small objects wandering at random
    contrast: float  # share of the object-background colour difference kept
    motion_scale: float  # multiplies the motion amplitude
    texture: float  # amplitude of the background texture, in grey levels
    flicker_std: float  # per-frame global brightness change, in grey levels
    # Objects may be darker than the background. With one polarity a motion detector is a
    # plain oriented filter; with both it must be sign-invariant, which is much slower to learn.
    mixed_polarity: bool


DIFFICULTY_LEVELS = (
    DifficultyLevel(noise_std=0.0, max_distractors=0, contrast=1.0, motion_scale=1.0,
                    texture=6.0, flicker_std=0.0, mixed_polarity=False),
    DifficultyLevel(noise_std=5.0, max_distractors=1, contrast=0.8, motion_scale=0.85,
                    texture=12.0, flicker_std=0.0, mixed_polarity=False),
    DifficultyLevel(noise_std=10.0, max_distractors=2, contrast=0.6, motion_scale=0.7,
                    texture=18.0, flicker_std=4.0, mixed_polarity=True),
    DifficultyLevel(noise_std=16.0, max_distractors=3, contrast=0.45, motion_scale=0.55,
                    texture=24.0, flicker_std=8.0, mixed_polarity=True),
)


def class_names(num_classes: int) -> list[str]:
    """Name of each class id: the 8 patterns, then their ``_fast`` variants (``num_classes`` up to
    MAX_CLASSES, checked by ``SyntheticOptions``)."""
    return [PATTERNS[i % len(PATTERNS)] + ("_fast" if i >= len(PATTERNS) else "") for i in range(num_classes)]


@dataclass(frozen=True)
class Track:
    """Per-frame centre (pixels), radius (pixels) and orientation (radians, clockwise on screen)."""

    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    angle: np.ndarray


def object_track(class_id: int, num_frames: int, size: int, motion_scale: float, rng: np.random.Generator) -> Track:
    """The main object's motion for ``class_id``, linear in time over the whole clip."""
    pattern = PATTERNS[class_id % len(PATTERNS)]
    fast = class_id >= len(PATTERNS)
    progress = np.linspace(0.0, 1.0, num_frames)
    if pattern.startswith("moving"):
        return _translation(pattern, fast, progress, size, motion_scale, rng)
    if pattern in ("growing", "shrinking"):
        return _scaling(pattern, fast, progress, size, motion_scale, rng)
    return _rotation(pattern, fast, progress, size, motion_scale, rng)


def _constant(value: float, progress: np.ndarray) -> np.ndarray:
    return np.full_like(progress, value)


def _translation(pattern, fast, progress, size, motion_scale, rng) -> Track:
    radius = rng.uniform(0.1, 0.16) * size
    travel = (rng.uniform(0.55, 0.65) if fast else rng.uniform(0.35, 0.45)) * motion_scale * size
    start = rng.uniform(radius, size - radius - travel)
    across = rng.uniform(radius, size - radius)
    forward = pattern in ("moving_right", "moving_down")
    along = start + travel * progress if forward else start + travel * (1.0 - progress)
    angle = _constant(rng.uniform(0, 2 * math.pi), progress)
    if pattern in ("moving_left", "moving_right"):
        return Track(along, _constant(across, progress), _constant(radius, progress), angle)
    return Track(_constant(across, progress), along, _constant(radius, progress), angle)


def _scaling(pattern, fast, progress, size, motion_scale, rng) -> Track:
    small = rng.uniform(0.07, 0.1) * size
    growth = 1.0 + (rng.uniform(1.4, 2.0) if fast else rng.uniform(0.6, 1.0)) * motion_scale
    large = small * growth
    x, y = rng.uniform(large, size - large, 2)
    share = progress if pattern == "growing" else 1.0 - progress
    radius = small + (large - small) * share
    angle = _constant(rng.uniform(0, 2 * math.pi), progress)
    return Track(_constant(x, progress), _constant(y, progress), radius, angle)


def _rotation(pattern, fast, progress, size, motion_scale, rng) -> Track:
    radius = rng.uniform(0.14, 0.2) * size
    x, y = rng.uniform(radius, size - radius, 2)
    turn = math.radians(rng.uniform(300, 420) if fast else rng.uniform(120, 200)) * motion_scale
    direction = 1.0 if pattern == "rotating_clockwise" else -1.0
    angle = rng.uniform(0, 2 * math.pi) + direction * turn * progress
    return Track(_constant(x, progress), _constant(y, progress), _constant(radius, progress), angle)


def render_clip(class_id: int, num_frames: int, size: int, difficulty: int, rng: np.random.Generator) -> np.ndarray:
    """A uint8 RGB clip ``[num_frames, size, size, 3]`` of class ``class_id`` (``difficulty`` indexes
    DIFFICULTY_LEVELS, checked by ``SyntheticOptions``)."""
    level = DIFFICULTY_LEVELS[difficulty]
    background = _background(size, level.texture, level.mixed_polarity, rng)
    colour = _object_colour(background.mean(axis=(0, 1)), level.contrast, level.mixed_polarity, rng)
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    track = object_track(class_id, num_frames, size, level.motion_scale, rng)
    distractors = [_distractor(num_frames, size, rng) for _ in range(int(rng.integers(level.max_distractors + 1)))]
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    for t in range(num_frames):
        frame = background.copy()
        _draw_object(frame, shape, track.x[t], track.y[t], track.radius[t], track.angle[t], colour)
        for d_shape, d_colour, d_track in distractors:
            _draw_object(frame, d_shape, d_track.x[t], d_track.y[t], d_track.radius[t], d_track.angle[t], d_colour)
        frames[t] = frame
    return _add_noise(frames, level, rng)


def _background(size: int, texture: float, mixed_polarity: bool, rng: np.random.Generator) -> np.ndarray:
    """A linear colour gradient in a random direction plus smooth random texture (dark unless mixed)."""
    start, end = rng.uniform(30, 225 if mixed_polarity else 110, (2, 3))
    direction = rng.uniform(0, 2 * math.pi)
    coords = np.arange(size, dtype=np.float32) / max(size - 1, 1)
    projection = math.cos(direction) * coords[None, :] + math.sin(direction) * coords[:, None]
    projection = (projection - projection.min()) / max(float(np.ptp(projection)), 1e-6)
    image = start + (end - start) * projection[..., None]
    coarse = rng.standard_normal((max(size // 8, 2), max(size // 8, 2), 3)).astype(np.float32)
    image += texture * cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(image, 0, 255).astype(np.uint8)


def _object_colour(
    background_mean: np.ndarray, contrast: float, mixed_polarity: bool, rng: np.random.Generator
) -> tuple:
    """A colour far from the background mean (brighter unless mixed), pulled towards it by ``contrast``."""
    low = 0 if mixed_polarity else 170
    colour = rng.uniform(low, 255, 3)
    for _ in range(20):
        if np.linalg.norm(colour - background_mean) >= 150:
            break
        colour = rng.uniform(low, 255, 3)
    blended = background_mean + contrast * (colour - background_mean)
    return tuple(float(c) for c in np.clip(blended, 0, 255))


def _distractor(num_frames: int, size: int, rng: np.random.Generator) -> tuple[str, tuple, Track]:
    """A small object on a smooth random walk that bounces off the borders."""
    radius = rng.uniform(0.04, 0.08) * size
    position = rng.uniform(radius, size - radius, 2)
    velocity = rng.normal(0.0, 0.6, 2)
    points = np.empty((num_frames, 2))
    for t in range(num_frames):
        points[t] = position
        velocity = np.clip(velocity + rng.normal(0.0, 0.3, 2), -1.2, 1.2)
        position = position + velocity
        for axis in range(2):
            if not radius <= position[axis] <= size - radius:
                velocity[axis] = -velocity[axis]
                position[axis] = np.clip(position[axis], radius, size - radius)
    angle = rng.uniform(0, 2 * math.pi) + np.cumsum(rng.normal(0.0, 0.1, num_frames))
    track = Track(points[:, 0], points[:, 1], np.full(num_frames, radius), angle)
    colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
    return SHAPES[int(rng.integers(len(SHAPES)))], colour, track


_SUBPIXEL_BITS = 4
_SUBPIXEL = 1 << _SUBPIXEL_BITS


def _draw_object(frame: np.ndarray, shape: str, x: float, y: float, radius: float, angle: float, colour) -> None:
    """Draw a shape with an off-centre marker dot, so that its orientation is visible."""
    if shape == "disc":
        _disc(frame, x, y, radius, colour)
    else:
        corners = 4 if shape == "square" else 3
        offset = math.pi / 4 if shape == "square" else 0.0
        vertex_angles = angle + offset + 2 * math.pi * np.arange(corners) / corners
        polygon = np.stack([x + radius * np.cos(vertex_angles), y + radius * np.sin(vertex_angles)], axis=1)
        cv2.fillPoly(frame, [np.round(polygon * _SUBPIXEL).astype(np.int32)], colour, cv2.LINE_AA, _SUBPIXEL_BITS)
    marker_colour = tuple(255.0 - c for c in colour)
    distance = 0.5 * radius
    _disc(frame, x + distance * math.cos(angle), y + distance * math.sin(angle), 0.25 * radius, marker_colour)


def _disc(frame: np.ndarray, x: float, y: float, radius: float, colour) -> None:
    centre = (int(round(x * _SUBPIXEL)), int(round(y * _SUBPIXEL)))
    cv2.circle(frame, centre, max(int(round(radius * _SUBPIXEL)), 1), colour, -1, cv2.LINE_AA, _SUBPIXEL_BITS)


def _add_noise(frames: np.ndarray, level: DifficultyLevel, rng: np.random.Generator) -> np.ndarray:
    if level.noise_std == 0 and level.flicker_std == 0:
        return frames
    noisy = frames.astype(np.float32)
    if level.noise_std:
        noisy += level.noise_std * rng.standard_normal(frames.shape, dtype=np.float32)
    if level.flicker_std:
        noisy += level.flicker_std * rng.standard_normal((frames.shape[0], 1, 1, 1), dtype=np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)

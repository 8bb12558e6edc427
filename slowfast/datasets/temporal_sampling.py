"""Temporal sampling: which frames of a video make a clip, for every dataset.

Pure functions of explicit arguments; random draws come from the caller's generator, in the
order each function states, so a clip's indices follow from the item's draws alone.

- Span at a target frame rate (Kinetics, decoded videos): ``clip_frame_indices`` with a start
  fraction from ``random_start`` (training) or ``ensemble_view_start`` (val/test).
- Strided (Charades frame lists): ``strided_train_indices`` and ``strided_view_indices``.
- Segments (SSv2 frame lists): ``segment_frame_indices``; the sampling rate plays no part.

Training clips of the first two draw their sampling rate with ``draw_sampling_rate`` first.
"""
from typing import Optional

import numpy as np


def draw_sampling_rate(rng: np.random.Generator, sampling_rate_range: tuple[int, int]) -> int:
    """A training clip's frame stride, uniform over the inclusive range ``(low, high)``
    (``ClipShape.sampling_rate``: the long cycle widens it for clips with fewer frames)."""
    low, high = sampling_rate_range
    return int(rng.integers(low, high + 1))


# ---- span at a target frame rate (Kinetics) ----


def clip_frame_indices(
    frame_count: int,
    fps: float,
    num_frames: int,
    sampling_rate: int,
    target_fps: float,
    start_fraction: float,
) -> np.ndarray:
    """Source frame indices of a clip of ``num_frames`` frames, ``sampling_rate`` apart at ``target_fps``.

    The clip spans ``L = sampling_rate * num_frames * fps / target_fps`` source frames and starts at
    ``start_fraction * max(frame_count - L, 0)`` (0 = first frame, 1 = last possible start).
    Indices are ``linspace(start, start + L - 1, num_frames)`` clamped to the video and truncated,
    as in PySlowFast, so a video shorter than the clip repeats its last frame.
    """
    if frame_count < 1:
        raise ValueError(f"frame_count must be >= 1, got {frame_count}")
    if not 0.0 <= start_fraction <= 1.0:
        raise ValueError(f"start_fraction must be in [0, 1], got {start_fraction}")
    span = sampling_rate * num_frames * fps / target_fps
    start = start_fraction * max(frame_count - span, 0.0)
    positions = np.linspace(start, start + span - 1, num_frames)
    return np.clip(positions, 0, frame_count - 1).astype(np.int64)


def random_start(rng: np.random.Generator) -> float:
    """Training clip start: uniform over all possible starts (one draw)."""
    return float(rng.uniform(0.0, 1.0))


CENTRE_START = 0.5


def ensemble_view_start(view: int, num_views: int) -> float:
    """Start of test view ``view`` of ``num_views``: the views span the whole video (one view: centre)."""
    if num_views == 1:
        return CENTRE_START
    return view / (num_views - 1)


# ---- strided (Charades) ----


def clip_length(num_frames: int, sampling_rate: int) -> int:
    """Frames a strided clip spans: ``(T - 1) * rate + 1``."""
    return (num_frames - 1) * sampling_rate + 1


def random_clip_start(num_video_frames: int, span: int, rng: np.random.Generator) -> int:
    """Uniform start over every position; negative (the clip then repeats frame 0) when the video is shorter."""
    low, high = sorted((0, num_video_frames - span))
    return int(rng.integers(low, high + 1))


def view_clip_start(num_video_frames: int, span: int, view: int, num_views: int) -> int:
    """Start of test view ``view``: views spread evenly from the first to the last start (one view: centre)."""
    room = max(num_video_frames - span, 0)
    if num_views == 1:
        return int(round(room / 2))
    gap = float(room) / (num_views - 1)
    return int(round(gap * view))


def strided_frame_indices(num_video_frames: int, start: int, num_frames: int, sampling_rate: int) -> np.ndarray:
    """``start + i * rate`` for i < T, clamped to the video's frames."""
    return np.clip(start + sampling_rate * np.arange(num_frames), 0, num_video_frames - 1)


def strided_train_indices(
    num_video_frames: int, num_frames: int, sampling_rate_range: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """A strided training clip; draws the sampling rate, then the start."""
    sampling_rate = draw_sampling_rate(rng, sampling_rate_range)
    start = random_clip_start(num_video_frames, clip_length(num_frames, sampling_rate), rng)
    return strided_frame_indices(num_video_frames, start, num_frames, sampling_rate)


def strided_view_indices(
    num_video_frames: int, num_frames: int, sampling_rate: int, view: int, num_views: int
) -> np.ndarray:
    """View ``view`` of ``num_views`` strided clips (val: view 0 of 1, the centre)."""
    start = view_clip_start(num_video_frames, clip_length(num_frames, sampling_rate), view, num_views)
    return strided_frame_indices(num_video_frames, start, num_frames, sampling_rate)


# ---- segments (SSv2) ----


def segment_frame_indices(
    num_video_frames: int,
    num_segments: int,
    rng: Optional[np.random.Generator] = None,
    view: int = 0,
    num_views: int = 1,
) -> np.ndarray:
    """One frame per segment of ``(L - 1) / T`` frames (PySlowFast's ``get_seq_frames``).

    Segment i spans ``round(s * i) .. round(s * (i + 1))``. With ``rng`` (training) a uniform frame
    of each span is taken (one draw of T values); otherwise view ``v`` of ``V`` takes
    ``start + (end - start) * (2v + 1) // 2V``, which for one view is PySlowFast's centre
    ``(start + end) // 2`` and for several spreads the views over the span instead of repeating
    the same clip.
    """
    if num_video_frames < 1 or num_segments < 1:
        raise ValueError(f"need at least one frame and one segment, got {num_video_frames} and {num_segments}")
    if not 0 <= view < num_views:
        raise ValueError(f"view {view} is outside [0, {num_views})")
    segment = (num_video_frames - 1) / num_segments
    starts = np.round(segment * np.arange(num_segments)).astype(np.int64)
    ends = np.round(segment * np.arange(1, num_segments + 1)).astype(np.int64)
    if rng is not None:
        return rng.integers(starts, ends + 1)
    return starts + (ends - starts) * (2 * view + 1) // (2 * num_views)

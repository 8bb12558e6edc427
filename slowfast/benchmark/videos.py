"""Kinetics-like benchmark videos: H.264, 340x256, 30 fps, 10 s, a keyframe every 60 frames, one slice per frame."""
import os
from dataclasses import dataclass

import numpy as np

from slowfast.datasets.h264 import fixed_keyframes, write_h264
from slowfast.utils.atomic import write_text_atomic


@dataclass(frozen=True)
class VideoSpec:
    """Encoding of the benchmark set (defaults: what Kinetics files look like after the usual resize)."""

    width: int = 340
    height: int = 256
    fps: int = 30
    seconds: float = 10.0
    keyframe_interval: int = 60
    num_classes: int = 4

    @property
    def num_frames(self) -> int:
        return int(round(self.fps * self.seconds))


def _frame(spec: VideoSpec, index: int, seed: int, noise: np.ndarray) -> np.ndarray:
    """A moving pattern plus fixed texture, so frames compress like natural video (not trivially)."""
    ys, xs = np.mgrid[0 : spec.height, 0 : spec.width]
    shift = index * (2 + seed % 3)
    pattern = ((xs + shift) // 16 + (ys + seed * 7) // 16) % 2 * 120
    base = np.stack([pattern + 40, (xs + shift) % 256 // 2, (ys + shift) % 256 // 2], axis=-1)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_video(path: str, spec: VideoSpec, seed: int) -> None:
    """Encode one video with libx264 at the spec's size, rate and keyframe interval."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-20, 21, size=(spec.height, spec.width, 3))
    params = fixed_keyframes(spec.keyframe_interval) + ":slices=1:sliced-threads=0"
    options = {"x264-params": params, "preset": "veryfast"}
    frames = (_frame(spec, index, seed, noise) for index in range(spec.num_frames))
    write_h264(path, frames, spec.fps, spec.height, spec.width, options)


def write_kinetics_like(folder: str, num_videos: int, spec: VideoSpec = VideoSpec()) -> list[str]:
    """Write ``num_videos`` videos and train/val/test CSVs ("<path> <label>") into ``folder``."""
    if num_videos < 1:
        raise ValueError(f"num_videos must be >= 1, got {num_videos}")
    os.makedirs(os.path.join(folder, "videos"), exist_ok=True)
    paths = []
    for index in range(num_videos):
        path = os.path.join(folder, "videos", f"video_{index:04d}.mp4")
        if not os.path.exists(path):
            write_video(path, spec, seed=index)  # atomic: a present file is a complete one
        paths.append(path)
    lines = "".join(f"{os.path.abspath(p)} {i % spec.num_classes}\n" for i, p in enumerate(paths))
    for split in ("train", "val", "test"):
        write_text_atomic(os.path.join(folder, f"{split}.csv"), lines)
    return paths

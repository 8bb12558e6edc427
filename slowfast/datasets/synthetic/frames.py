"""Write the synthetic motion dataset as PySlowFast frame folders: an SSv2-style and a Charades-style layout.

SSv2 style: one motion class per video, videos of 75-100 % of SYNTHETIC.NUM_FRAMES frames,
``something-something-v2-{labels,train,validation}.json`` and frame lists ``train.csv`` /
``val.csv`` with an empty labels column. Charades style: 1 to 3 actions (objects moving as
distinct classes) per video, each during its own interval, so they overlap in time; each
frame-list row lists the classes active at that frame. Frames are JPEGs under
``frames/<video id>/``; train.csv is written last.

These layouts draw a bright disc (with a dark orientation marker) on a dark background: with a
fixed contrast polarity a small network learns the direction of motion within a few hundred
iterations, which the CPU demos need; with random polarity it takes far longer.
"""
import math
import os

import cv2
import numpy as np

from slowfast.datasets.frame_list import HEADER
from slowfast.datasets.synthetic.options import SyntheticOptions
from slowfast.datasets.synthetic.render import (
    DIFFICULTY_LEVELS,
    DifficultyLevel,
    class_names,
    object_track,
)
from slowfast.utils.atomic import write_json_atomic, write_text_atomic
from slowfast.utils.progress import progress_bar

_LAYOUT_SEEDS = {"ssv2": 1, "charades": 2}
_SPLIT_SEEDS = {"train": 0, "val": 1}
# SSv2-style templates of the motion patterns ("[something]" is the placeholder, as in SSv2).
SSV2_TEMPLATES = {
    "moving_left": "Pushing [something] from right to left",
    "moving_right": "Pushing [something] from left to right",
    "moving_up": "Moving [something] up",
    "moving_down": "Moving [something] down",
    "growing": "Approaching [something] with your camera",
    "shrinking": "Moving away from [something] with your camera",
    "rotating_clockwise": "Turning [something] clockwise",
    "rotating_counterclockwise": "Turning [something] counterclockwise",
}
MAX_ACTIONS = 3
_JPEG_QUALITY = 90


def ssv2_template(class_name: str) -> str:
    """The SSv2-style template of a synthetic class (``_fast`` classes end in " quickly")."""
    pattern = class_name.removesuffix("_fast")
    return SSV2_TEMPLATES[pattern] + (" quickly" if class_name.endswith("_fast") else "")


def video_rng(seed: int, layout: str, split: str, video: int) -> np.random.Generator:
    """Independent generator of one video, so videos do not depend on generation order."""
    return np.random.default_rng([seed, _LAYOUT_SEEDS[layout], _SPLIT_SEEDS[split], video])


def render_bright_clip(
    class_id: int, num_frames: int, size: int, difficulty: int, rng: np.random.Generator
) -> np.ndarray:
    """RGB ``[num_frames, size, size, 3]``: a bright disc moving as ``class_id`` on a dark textured background."""
    level = DIFFICULTY_LEVELS[difficulty]
    background = _dark_background(size, level.texture, rng)
    track = object_track(class_id, num_frames, size, level.motion_scale, rng)
    steps = np.arange(num_frames)
    return _render_scene(background, [(track, steps, _bright_colour(background, level.contrast, rng))], level, rng)


def _dark_background(size: int, texture: float, rng: np.random.Generator) -> np.ndarray:
    coarse = rng.standard_normal((max(size // 8, 2), max(size // 8, 2), 3)).astype(np.float32)
    return rng.uniform(15, 70, 3).astype(np.float32) + texture * cv2.resize(
        coarse, (size, size), interpolation=cv2.INTER_CUBIC
    )


def _bright_colour(background: np.ndarray, contrast: float, rng: np.random.Generator) -> np.ndarray:
    mean = background.mean(axis=(0, 1))
    return mean + contrast * (rng.uniform(180, 255, 3) - mean)


def _render_scene(
    background: np.ndarray, objects: list, level: DifficultyLevel, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``(track, step of each frame, colour)`` objects over ``background``, then add the level's noise."""
    num_frames = len(objects[0][1])
    frames = np.repeat(background[None], num_frames, axis=0)
    for t in range(num_frames):
        for track, steps, colour in objects:
            k = steps[t]
            x, y, radius, angle = track.x[k], track.y[k], track.radius[k], track.angle[k]
            _disc(frames[t], x, y, radius, colour)
            marker_x, marker_y = x + 0.5 * radius * math.cos(angle), y + 0.5 * radius * math.sin(angle)
            _disc(frames[t], marker_x, marker_y, 0.3 * radius, 0.3 * colour)
    frames += level.noise_std * rng.standard_normal(frames.shape, dtype=np.float32)
    return np.clip(frames, 0, 255).astype(np.uint8)


def _disc(frame: np.ndarray, x: float, y: float, radius: float, colour: np.ndarray) -> None:
    shift = 4  # sub-pixel bits, so that slow motion still moves the disc
    centre = (int(round(x * (1 << shift))), int(round(y * (1 << shift))))
    cv2.circle(frame, centre, max(int(round(radius * (1 << shift))), 1), tuple(float(c) for c in colour), -1,
               cv2.LINE_AA, shift)


def write_frames(out_dir: str, video_id: str, frames: np.ndarray) -> list[str]:
    """Save RGB ``[T, H, W, 3]`` as ``frames/<id>/<id>_<k:06d>.jpg`` (k from 1); returns the relative paths."""
    folder = os.path.join("frames", video_id)
    os.makedirs(os.path.join(out_dir, folder), exist_ok=True)
    paths = []
    for k, image in enumerate(frames, start=1):
        relative = f"{folder}/{video_id}_{k:06d}.jpg"
        cv2.imwrite(os.path.join(out_dir, relative), image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
        paths.append(relative)
    return paths


def frame_list_rows(video_id: str, video_number: int, paths: list[str], frame_labels=None) -> list[str]:
    """Frame-list lines of one video: ``original_vido_id video_id frame_id path "labels"``."""
    labels = frame_labels or [()] * len(paths)
    return [
        f'{video_id} {video_number} {k} {path} "{",".join(str(c) for c in active)}"\n'
        for k, (path, active) in enumerate(zip(paths, labels))
    ]


def generate_ssv2_style_dataset(out_dir: str, options: SyntheticOptions) -> None:
    """SSv2 layout of the motion classes."""
    names = class_names(options.num_classes)
    templates = [ssv2_template(name) for name in names]
    label_map = {_bare(template): str(i) for i, template in enumerate(templates)}
    write_json_atomic(os.path.join(out_dir, "something-something-v2-labels.json"), label_map)
    next_id = 1
    total = options.num_classes * sum(map(options.clips_in_split, ("val", "train")))
    with progress_bar(total, "synthetic ssv2 videos", unit="video") as bar:
        for split, json_name in (("val", "validation"), ("train", "train")):
            entries, rows = [], [HEADER + "\n"]
            for class_id in range(options.num_classes):
                for clip_index in range(options.clips_in_split(split)):
                    video_number = len(entries)
                    rng = video_rng(options.seed, "ssv2", split, video_number)
                    shortest = math.ceil(0.75 * options.num_frames)
                    length = int(rng.integers(shortest, options.num_frames + 1))
                    frames = render_bright_clip(class_id, length, options.size,
                                                options.difficulty, rng)
                    video_id = str(next_id)
                    next_id += 1
                    paths = write_frames(out_dir, video_id, frames)
                    rows += frame_list_rows(video_id, video_number, paths)
                    entries.append({"id": video_id, "label": _bare(templates[class_id]).lower(),
                                    "template": templates[class_id], "placeholders": ["something"]})
                    bar.update()
            json_path = os.path.join(out_dir, f"something-something-v2-{json_name}.json")
            write_json_atomic(json_path, entries)
            write_text_atomic(os.path.join(out_dir, f"{split}.csv"), "".join(rows))


def render_multi_action_clip(
    class_ids: list[int], num_frames: int, size: int, difficulty: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[list[int]]]:
    """RGB ``[T, size, size, 3]`` with one bright disc per action class, and the classes active at each frame.

    Each action moves during a random interval of 40-80 % of the video and stands still (first or
    last pose) outside it, so the actions of a video overlap in time.
    """
    if not 1 <= len(class_ids) <= MAX_ACTIONS:
        raise ValueError(f"a clip holds 1 to {MAX_ACTIONS} actions, got {class_ids}")
    level = DIFFICULTY_LEVELS[difficulty]
    background = _dark_background(size, level.texture, rng)
    frame_labels: list[list[int]] = [[] for _ in range(num_frames)]
    objects = []
    for class_id in class_ids:
        length = int(rng.integers(round(0.4 * num_frames), round(0.8 * num_frames) + 1))
        first = int(rng.integers(0, num_frames - length + 1))
        for t in range(first, first + length):
            frame_labels[t].append(class_id)
        track = object_track(class_id, length, size, level.motion_scale, rng)
        steps = np.clip(np.arange(num_frames) - first, 0, length - 1)
        objects.append((track, steps, _bright_colour(background, level.contrast, rng)))
    return _render_scene(background, objects, level, rng), [sorted(labels) for labels in frame_labels]


def generate_charades_style_dataset(out_dir: str, options: SyntheticOptions) -> None:
    """Charades layout: multi-label videos of overlapping actions."""
    names = class_names(options.num_classes)
    classes = {name: i for i, name in enumerate(names)}
    write_json_atomic(os.path.join(out_dir, "classes.json"), classes)
    total = options.num_classes * sum(map(options.clips_in_split, ("val", "train")))
    with progress_bar(total, "synthetic charades videos", unit="video") as bar:
        for split in ("val", "train"):
            rows = [HEADER + "\n"]
            for video_number in range(options.num_classes * options.clips_in_split(split)):
                rng = video_rng(options.seed, "charades", split, video_number)
                count = int(rng.integers(1, min(MAX_ACTIONS, options.num_classes) + 1))
                class_ids = rng.choice(options.num_classes, size=count, replace=False).tolist()
                frames, labels = render_multi_action_clip(class_ids, options.num_frames,
                                                          options.size, options.difficulty, rng)
                video_id = f"{split[0].upper()}{video_number:04d}"
                paths = write_frames(out_dir, video_id, frames)
                rows += frame_list_rows(video_id, video_number, paths, labels)
                bar.update()
            write_text_atomic(os.path.join(out_dir, f"{split}.csv"), "".join(rows))


def _bare(template: str) -> str:
    return template.replace("[", "").replace("]", "")

"""The Kinetics layout of the synthetic dataset: H.264 videos plus "<path> <label>" CSVs.

Layout of ``out_dir``: ``videos/{split}/{class_name}/{k:04d}.mp4``, ``{train,val,test}.csv``
with lines ``videos/... <label>`` relative to ``out_dir`` (the Kinetics dataset resolves them
against the CSV's folder when DATA.PATH_PREFIX is empty), ``classes.json`` (name -> id) and
``generator.json`` (the options used). The same options give the same files.
"""
import contextlib
import logging
import multiprocessing
import os
import time

import numpy as np

from slowfast.datasets.h264 import write_h264
from slowfast.datasets.synthetic.options import SyntheticOptions
from slowfast.datasets.synthetic.render import class_names, render_clip
from slowfast.utils.atomic import write_json_atomic, write_text_atomic
from slowfast.utils.progress import progress_bar

FPS = 30
GOP_SIZE = 12
_SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2}

logger = logging.getLogger(__name__)


def write_video(path: str, frames: np.ndarray, fps: int = FPS, gop_size: int = GOP_SIZE) -> None:
    """Encode uint8 RGB ``[T, H, W, 3]`` (even H, W) as H.264 yuv420p, one keyframe every
    ``gop_size`` frames."""
    # asm=0: with x264's assembly the same frames encoded twice in one process decode to
    # slightly different pixels; the plain C path is deterministic (and fast enough at this size).
    options = {"g": str(gop_size), "crf": "18", "preset": "veryfast", "threads": "1",
               "x264-params": "asm=0"}
    write_h264(path, frames, fps, frames.shape[1], frames.shape[2], options)


def clip_rng(seed: int, split: str, class_id: int, clip_index: int) -> np.random.Generator:
    """Independent generator of one clip, so clips do not depend on generation order."""
    return np.random.default_rng([seed, _SPLIT_SEEDS[split], class_id, clip_index])


def generate_synthetic_dataset(out_dir: str, options: SyntheticOptions, workers: int = 0) -> None:
    """Write all videos, CSVs and JSON files into ``out_dir`` (train.csv last: it marks
    completion). ``workers`` processes render and encode the videos (0 or 1: this process; at
    most one per usable CPU); every clip has its own generator, so the files are the same
    either way."""
    names = class_names(options.num_classes)
    started = time.perf_counter()
    splits = ("val", "test", "train")
    jobs = [
        (out_dir, options, split, class_id, clip_index)
        for split in splits
        for class_id in range(len(names))
        for clip_index in range(options.clips_in_split(split))
    ]
    for split in splits:
        for name in names:
            os.makedirs(os.path.join(out_dir, "videos", split, name), exist_ok=True)
    lines: dict[str, list[str]] = {split: [] for split in splits}
    usable_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    processes = min(workers, usable_cpus, len(jobs))
    with progress_bar(len(jobs), "synthetic videos") as bar, _mapper(processes) as mapper:
        for (_, _, split, class_id, _), relative in zip(jobs, mapper(_write_clip, jobs)):
            lines[split].append(f"{relative} {class_id}\n")
            bar.update()
    for split in splits:
        if split == "train":
            classes = {name: i for i, name in enumerate(names)}
            write_json_atomic(os.path.join(out_dir, "classes.json"), classes)
            write_json_atomic(os.path.join(out_dir, "generator.json"), options.record())
        write_text_atomic(os.path.join(out_dir, f"{split}.csv"), "".join(lines[split]))
    logger.info("Synthetic dataset written to %s in %.1f s", out_dir, time.perf_counter() - started)


def _write_clip(job: tuple) -> str:
    """Render and encode one clip; returns its path relative to the dataset folder."""
    out_dir, options, split, class_id, clip_index = job
    relative = f"videos/{split}/{class_names(options.num_classes)[class_id]}/{clip_index:04d}.mp4"
    frames = render_clip(class_id, options.num_frames, options.size, options.difficulty,
                         clip_rng(options.seed, split, class_id, clip_index))
    write_video(os.path.join(out_dir, relative), frames)
    return relative


@contextlib.contextmanager
def _mapper(workers: int):
    """An ordered, lazy map over ``workers`` forked processes (0 or 1: the built-in map)."""
    if workers <= 1:
        yield map
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield lambda function, items: pool.imap(function, items, chunksize=4)

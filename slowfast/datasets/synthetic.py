"""Write the bundled synthetic motion dataset: H.264 videos plus Kinetics-format CSVs.

Layout of ``out_dir``: ``videos/{split}/{class_name}/{k:04d}.mp4``, ``{train,val,test}.csv``
with lines ``videos/... <label>`` relative to ``out_dir`` (the Kinetics dataset resolves them
against the CSV's folder when DATA.PATH_PREFIX is empty), ``classes.json`` (name -> id) and
``generator.json`` (the options used). The same options give the same files.
"""
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass

import av
import numpy as np

from slowfast.datasets.synthetic_render import class_names, render_clip

logger = logging.getLogger(__name__)

FPS = 30
GOP_SIZE = 12
_SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class SyntheticOptions:
    """Generator settings (the SYNTHETIC config node)."""

    num_classes: int = 8
    clips_per_class: int = 24
    num_frames: int = 48
    size: int = 64
    difficulty: int = 1
    seed: int = 0

    def __post_init__(self):
        class_names(self.num_classes)
        if self.clips_per_class < 1 or self.num_frames < 2 or self.size < 16 or self.size % 2:
            raise ValueError(
                f"synthetic options need clips_per_class >= 1, num_frames >= 2 and an even size >= 16, got {self}"
            )

    def clips_in_split(self, split: str) -> int:
        """Videos per class: ``clips_per_class`` for train, a quarter (at least 2) for val and test."""
        return self.clips_per_class if split == "train" else max(2, self.clips_per_class // 4)


def write_video(path: str, frames: np.ndarray, fps: int = FPS, gop_size: int = GOP_SIZE) -> None:
    """Encode uint8 RGB ``[T, H, W, 3]`` (even H, W) as H.264 yuv420p, one keyframe every ``gop_size`` frames."""
    # asm=0: with x264's assembly the same frames encoded twice in one process decode to
    # slightly different pixels; the plain C path is deterministic (and fast enough at this size).
    options = {"g": str(gop_size), "crf": "18", "preset": "veryfast", "threads": "1", "x264-params": "asm=0"}
    with av.open(path, mode="w") as container:
        stream = container.add_stream("libx264", rate=fps, options=options)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def clip_rng(seed: int, split: str, class_id: int, clip_index: int) -> np.random.Generator:
    """Independent generator of one clip, so clips do not depend on generation order."""
    return np.random.default_rng([seed, _SPLIT_SEEDS[split], class_id, clip_index])


def generate_synthetic_dataset(out_dir: str, options: SyntheticOptions) -> None:
    """Write all videos, CSVs and JSON files into ``out_dir`` (train.csv last: it marks completion)."""
    names = class_names(options.num_classes)
    started = time.perf_counter()
    for split in ("val", "test", "train"):
        lines = []
        for class_id, name in enumerate(names):
            os.makedirs(os.path.join(out_dir, "videos", split, name), exist_ok=True)
            for clip_index in range(options.clips_in_split(split)):
                relative = f"videos/{split}/{name}/{clip_index:04d}.mp4"
                rng = clip_rng(options.seed, split, class_id, clip_index)
                frames = render_clip(class_id, options.num_frames, options.size, options.difficulty, rng)
                write_video(os.path.join(out_dir, relative), frames)
                lines.append(f"{relative} {class_id}\n")
        if split == "train":
            write_json_file(os.path.join(out_dir, "classes.json"), {name: i for i, name in enumerate(names)})
            write_json_file(os.path.join(out_dir, "generator.json"), asdict(options))
        write_text_file(os.path.join(out_dir, f"{split}.csv"), "".join(lines))
    logger.info("Synthetic dataset written to %s in %.1f s", out_dir, time.perf_counter() - started)


def write_json_file(path: str, content) -> None:
    """Write ``content`` as indented JSON, atomically."""
    write_text_file(path, json.dumps(content, indent=2) + "\n")


def write_text_file(path: str, text: str) -> None:
    """Write ``text`` to a temporary file and move it into place, so readers never see half a file."""
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


LAYOUTS = ("kinetics", "ssv2", "charades")


def generator_record(options: SyntheticOptions, layout: str = "kinetics") -> dict:
    """What generator.json holds: the options, plus the layout when it is not the Kinetics one."""
    return asdict(options) if layout == "kinetics" else {**asdict(options), "layout": layout}


def generate_dataset(out_dir: str, options: SyntheticOptions, layout: str = "kinetics") -> None:
    """Write the dataset in ``layout``: Kinetics videos + CSVs, or SSv2 / Charades frame folders + lists."""
    from slowfast.datasets import synthetic_frames  # it imports this module

    writers = {
        "kinetics": generate_synthetic_dataset,
        "ssv2": synthetic_frames.generate_ssv2_style_dataset,
        "charades": synthetic_frames.generate_charades_style_dataset,
    }
    if layout not in writers:
        raise ValueError(f"synthetic layout must be one of {LAYOUTS}, got {layout!r}")
    started = time.perf_counter()
    writers[layout](out_dir, options)
    if layout != "kinetics":
        write_json_file(os.path.join(out_dir, "generator.json"), generator_record(options, layout))
        seconds = time.perf_counter() - started
        logger.info("Synthetic %s-style dataset written to %s in %.1f s", layout, out_dir, seconds)


def ensure_synthetic_dataset(data_dir: str, layout: str = "kinetics", **options) -> bool:
    """Generate the dataset into ``data_dir`` unless it already has a train.csv; True if generated.

    Safe when several processes call it at once: each writes a private folder, and the
    first to finish moves it into place.
    """
    if not data_dir:
        raise ValueError("DATA.PATH_TO_DATA_DIR is empty; set it to the folder for the synthetic dataset")
    requested = SyntheticOptions(**options)
    if os.path.isfile(os.path.join(data_dir, "train.csv")):
        logger.info("Using the dataset already in %s (it has a train.csv)", data_dir)
        _warn_if_different(data_dir, generator_record(requested, layout))
        return False
    logger.info("No train.csv in %s: generating the synthetic dataset (%s layout, %s)", data_dir, layout, requested)
    parent = os.path.dirname(os.path.abspath(data_dir))
    os.makedirs(parent, exist_ok=True)
    private = tempfile.mkdtemp(prefix=os.path.basename(os.path.abspath(data_dir)) + ".tmp-", dir=parent)
    try:
        generate_dataset(private, requested, layout)
        _move_into_place(private, data_dir)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return True


def _move_into_place(private: str, data_dir: str) -> None:
    try:
        os.rename(private, data_dir)  # atomic when data_dir is missing or empty
        return
    except OSError:
        if os.path.isfile(os.path.join(data_dir, "train.csv")):
            return  # another process finished first
    names = sorted(os.listdir(private), key=lambda name: name == "train.csv")
    for name in names:
        target = os.path.join(data_dir, name)
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(os.path.join(private, name), target)


def _warn_if_different(data_dir: str, requested: dict) -> None:
    recorded_path = os.path.join(data_dir, "generator.json")
    if not os.path.isfile(recorded_path):
        return
    with open(recorded_path, encoding="utf-8") as handle:
        recorded = json.load(handle)
    if recorded != requested:
        logger.warning(
            "%s holds a synthetic dataset generated with %s, not the requested %s; delete the folder to regenerate",
            data_dir,
            recorded,
            requested,
        )

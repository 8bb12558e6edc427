"""Re-encode a Kinetics-style folder (CSVs of "<path> <label>") to a short side and keyframe interval.

Smaller frames and frequent keyframes make training decode cheap: a clip seeks to the nearest
keyframe before it and decodes from there. The CSVs are rewritten to the new files; a video
that fails to re-encode is dropped from them (and named), so they stay valid.
"""
import os
import sys
from dataclasses import dataclass
from multiprocessing import Pool
from typing import Optional, TextIO

import av

from slowfast.datasets.h264 import fixed_keyframes, write_h264
from slowfast.datasets.transforms import resized_shape
from slowfast.utils.atomic import write_text_atomic
from slowfast.utils.progress import progress_bar

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class EncodeOptions:
    """Target of the re-encoding."""

    short_side: int = 256
    keyframe_interval: int = 60
    crf: int = 23
    preset: str = "veryfast"


def even_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) with the short side at ``short_side``, rounded down to even (yuv420p needs it)."""
    new_height, new_width = resized_shape(height, width, short_side)
    return new_height - new_height % 2, new_width - new_width % 2


def reencode_video(source: str, target: str, options: EncodeOptions) -> None:
    """Decode ``source`` and write it to ``target`` as H.264 at the new size and keyframe interval (no audio)."""
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with av.open(source) as reader:
        video = reader.streams.video[0]
        rate = video.average_rate or video.guessed_rate or 30
        height, width = even_size(video.codec_context.height, video.codec_context.width, options.short_side)
        encoder_options = {"x264-params": fixed_keyframes(options.keyframe_interval),
                           "crf": str(options.crf), "preset": options.preset}
        frames = _scaled(reader.decode(video), height, width)
        write_h264(target, frames, rate, height, width, encoder_options)


def _scaled(frames, height: int, width: int):
    """Decoded frames resized to the output size, their timestamps left to the encoder."""
    for frame in frames:
        scaled = frame.reformat(width=width, height=height, format="yuv420p")
        scaled.pts = None
        yield scaled


def _job(arguments: tuple[str, str, EncodeOptions]) -> tuple[str, Optional[str]]:
    source, target, options = arguments
    try:
        reencode_video(source, target, options)
        return source, None
    except (av.FFmpegError, OSError, ValueError, IndexError) as error:
        return source, f"{type(error).__name__}: {error}"


def _map_path(path: str, input_dir: str, output_dir: str) -> tuple[str, str]:
    """(source file, path to write in the new CSV) of a CSV entry; relative entries stay relative."""
    if not os.path.isabs(path):
        return os.path.join(input_dir, path), path
    relative = os.path.relpath(path, input_dir)
    if relative.startswith(os.pardir):
        relative = os.path.basename(path)
    return path, os.path.abspath(os.path.join(output_dir, relative))


def prepare_folder(
    input_dir: str, output_dir: str, options: EncodeOptions, workers: int = 2,
    separator: str = " ", progress: Optional[TextIO] = sys.stderr,
) -> dict[str, str]:
    """Re-encode every video listed in ``input_dir``'s CSVs into ``output_dir``; returns {source: error}."""
    entries: dict[str, list[tuple[str, str, str]]] = {}
    jobs: dict[str, str] = {}
    for split in SPLITS:
        csv_path = os.path.join(input_dir, f"{split}.csv")
        if not os.path.isfile(csv_path):
            continue
        entries[split] = []
        with open(csv_path) as handle:
            for line in filter(None, (raw.strip() for raw in handle)):
                path, label = line.rsplit(separator, 1)
                source, written = _map_path(path, input_dir, output_dir)
                jobs[source] = written if os.path.isabs(written) else os.path.join(output_dir, written)
                entries[split].append((source, written, label))
    if not entries:
        raise FileNotFoundError(f"'{input_dir}' has none of {[s + '.csv' for s in SPLITS]}")
    failures = _run_jobs(jobs, options, workers, progress)
    os.makedirs(output_dir, exist_ok=True)
    for split, rows in entries.items():
        kept = (f"{written}{separator}{label}\n" for source, written, label in rows
                if source not in failures)
        write_text_atomic(os.path.join(output_dir, f"{split}.csv"), "".join(kept))
    return failures


def _run_jobs(jobs: dict[str, str], options: EncodeOptions, workers: int, progress: Optional[TextIO]) -> dict[str, str]:
    arguments = [(source, target, options) for source, target in jobs.items()]
    failures: dict[str, str] = {}
    bar = progress_bar(len(arguments), "re-encoding", unit="video", stream=progress,
                       enabled=progress is not None)
    with Pool(max(1, workers)) as pool, bar:
        for source, error in pool.imap_unordered(_job, arguments):
            if error is not None:
                failures[source] = error
                bar.set_postfix(failed=len(failures))
            bar.update()
    return failures

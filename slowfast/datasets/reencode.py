"""Re-encode a Kinetics-style folder (CSVs of "<path> <label>") to one or more short sides and a keyframe interval.

Smaller frames and frequent keyframes make training decode cheap: a clip seeks to the nearest
keyframe before it and decodes from there. Every frame keeps its source's presentation time,
and every written copy is decoded and checked against its source before it appears. Copies are
MP4s; the CSVs are rewritten to the primary ones (see slowfast/datasets/prepared.py for the
layout); a video that fails is dropped from them and reported.
"""
import contextlib
import itertools
import os
import signal
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from multiprocessing import Pool
from typing import Optional, TextIO

import av
from av.video.reformatter import VideoReformatter

from slowfast.datasets.errors import DataError
from slowfast.datasets.h264 import H264Writer, fixed_keyframes, rescale
from slowfast.datasets.prepared import PreparedManifest, copy_path
from slowfast.datasets.transforms import resized_shape
from slowfast.datasets.video_timing import VideoTiming, check_copy
from slowfast.utils.atomic import atomic_path, write_text_atomic
from slowfast.utils.progress import progress_bar

SPLITS = ("train", "val", "test")
# The copies and keyframe interval chosen by a declared rule from measured loader costs
# (projects/multigrid/results/loader/README.md): the minimum jitter scales of the K400 MG
# schedule's crops (112, 158, 224 -> 128, 181, 256), the largest a primary.
DEFAULT_SHORT_SIDES = (128, 181, 256)
DEFAULT_KEYFRAME_INTERVAL = 32
DEFAULT_CRF = 23
DEFAULT_PRESET = "veryfast"
OUTPUT_EXTENSION = ".mp4"


@dataclass(frozen=True)
class EncodeOptions:
    """Target of the re-encoding: the short sides to write (the largest is the primary copy) and x264 settings."""

    short_sides: tuple[int, ...] = DEFAULT_SHORT_SIDES
    keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL
    crf: int = DEFAULT_CRF
    preset: str = DEFAULT_PRESET

    def __post_init__(self) -> None:
        if not self.short_sides or min(self.short_sides) < 1:
            raise ValueError(f"short_sides must be positive, got {self.short_sides}")
        object.__setattr__(self, "short_sides", tuple(sorted(set(self.short_sides))))

    @property
    def manifest(self) -> PreparedManifest:
        return PreparedManifest(self.short_sides, self.keyframe_interval, self.crf)

    def encoder_options(self) -> dict[str, str]:
        return {"x264-params": fixed_keyframes(self.keyframe_interval), "crf": str(self.crf), "preset": self.preset}


def even_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) with the short side at ``short_side``, rounded down to even (yuv420p needs it)."""
    new_height, new_width = resized_shape(height, width, short_side)
    return new_height - new_height % 2, new_width - new_width % 2


def copy_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """Frame size of the ``short_side`` copy of a ``height`` x ``width`` video: never upscaled, so a
    short side above the source's gives the source's size (rounded down to even)."""
    return even_size(height, width, min(short_side, height, width))


@dataclass(frozen=True)
class VideoResult:
    """What re-encoding one video did: its error (None when every copy was written and checked) and notes."""

    source: str
    error: Optional[str] = None
    notes: tuple[str, ...] = ()


def reencode_video(source: str, targets: Mapping[int, str], options: EncodeOptions) -> tuple[str, ...]:
    """Decode ``source`` once and write its ``{short side: path}`` copies as H.264 (no audio), each
    frame at its source time. Every copy is checked (video_timing.check_copy) before any appears;
    on an error none does. Returns notes (copies written smaller than asked)."""
    with av.open(source) as reader:
        stream = reader.streams.video[0]
        frames = _timestamped(reader.decode(stream), stream)
        first = next(frames, None)
        if first is None:
            raise ValueError("no video frame decodes")
        sizes = {side: copy_size(first.height, first.width, side) for side in targets}
        rate = nominal_rate(stream)
        with contextlib.ExitStack() as renames:
            partials = {side: renames.enter_context(atomic_path(path)) for side, path in targets.items()}
            for directory in {os.path.dirname(os.path.abspath(path)) for path in targets.values()}:
                os.makedirs(directory, exist_ok=True)
            with contextlib.ExitStack() as encoders:
                writers = {side: encoders.enter_context(H264Writer(
                    partials[side], rate, *sizes[side], options.encoder_options(), time_base=stream.time_base))
                    for side in targets}
                timing = _encode(itertools.chain([first], frames), writers, sizes)
            for side, partial in partials.items():
                check_copy(partial, timing, *sizes[side])
    source_side = min(first.height, first.width)
    return tuple(f"short side {side} is above the source's {source_side}: written at {width}x{height} (no upscaling)"
                 for side, (height, width) in sorted(sizes.items()) if side > source_side)


def nominal_rate(stream: av.VideoStream) -> Fraction:
    """Frames per second the stream's header gives (30 when it gives none)."""
    return Fraction(stream.average_rate or stream.guessed_rate or 30)


def _timestamped(frames: Iterable[av.VideoFrame], stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    """Decoded frames with ``pts`` and ``time_base`` set; a frame without a timestamp (e.g. in a raw
    H.264 stream) comes one nominal frame interval after the previous one."""
    previous = None
    for frame in frames:
        if frame.time_base is None:
            frame.time_base = stream.time_base
        if frame.pts is None:
            step = max(1, rescale(1, 1 / nominal_rate(stream), frame.time_base))
            frame.pts = 0 if previous is None else previous + step
        previous = frame.pts
        yield frame


def _encode(frames: Iterable[av.VideoFrame], writers: Mapping[int, H264Writer],
            sizes: Mapping[int, tuple[int, int]]) -> VideoTiming:
    """Scale each frame to every copy's size and encode it there; the source frames' timing."""
    scalers = {side: VideoReformatter() for side in writers}  # each keeps its scaling context between frames
    times = []
    for frame in frames:
        times.append(float(frame.pts * frame.time_base))
        for side, writer in writers.items():
            height, width = sizes[side]
            writer.write(scalers[side].reformat(frame, width=width, height=height, format="yuv420p"))
    return VideoTiming(tuple(times))


def _leave_ctrl_c_to_the_parent() -> None:
    """Set up a pool worker: Ctrl-C (which a terminal sends to every process of the job) is the
    parent's to handle; the parent then stops the pool with SIGTERM, which raises SystemExit here
    so that the copies being written are deleted on the way out (utils/atomic.py), not left behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _job(arguments: tuple[str, dict[int, str], EncodeOptions]) -> VideoResult:
    source, targets, options = arguments
    try:
        return VideoResult(source, notes=reencode_video(source, targets, options))
    except Exception as error:  # one bad video is reported, never the end of the run
        return VideoResult(source, error=f"{type(error).__name__}: {error}")


@dataclass
class PreparedFolder:
    """Outcome of :func:`prepare_folder`: ``failures`` {source: reason}, ``notes`` {source: notes},
    ``empty_csvs`` (CSVs not written because none of their videos was prepared), ``rows`` {csv: rows}."""

    failures: dict[str, str] = field(default_factory=dict)
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    empty_csvs: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def read_split(csv_path: str, separator: str) -> list[tuple[str, str]]:
    """(path, label) of every non-blank line of ``csv_path``; DataError naming the file and line otherwise."""
    entries = []
    with open(csv_path) as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line:
                continue
            path, _, label = line.rpartition(separator)
            if not path.strip() or not label.strip():
                raise DataError(f"{csv_path}:{number}: expected '<path>{separator}<label>', got {line!r}")
            entries.append((path.strip(), label.strip()))
    if not entries:
        raise DataError(f"'{csv_path}' lists no videos (expected lines '<path>{separator}<label>')")
    return entries


def _map_path(path: str, input_dir: str, output_dir: str) -> tuple[str, str]:
    """(absolute source file, path to write in the new CSV) of a CSV entry; relative entries stay
    relative, and every written video is an MP4."""
    if not os.path.isabs(path):
        return os.path.abspath(os.path.join(input_dir, path)), _as_mp4(path)
    relative = os.path.relpath(path, input_dir)
    if relative.startswith(os.pardir):
        relative = os.path.basename(path)
    return os.path.normpath(path), os.path.abspath(os.path.join(output_dir, _as_mp4(relative)))


def _as_mp4(path: str) -> str:
    # MP4 holds H.264 with every frame's timestamp and a frame count in its header; raw .h264 has no
    # timestamps, AVI no variable rate, Matroska no frame count, and WebM no H.264.
    return os.path.splitext(path)[0] + OUTPUT_EXTENSION


def prepare_folder(
    input_dir: str, output_dir: str, options: EncodeOptions, workers: int = 2,
    separator: str = " ", progress: Optional[TextIO] = sys.stderr,
) -> PreparedFolder:
    """Re-encode every video listed in ``input_dir``'s CSVs into ``output_dir`` at each short side of
    ``options``; write ``prepared.json`` and the CSVs of the videos that succeeded (never an empty one)."""
    entries: dict[str, list[tuple[str, str, str]]] = {}
    jobs: dict[str, dict[int, str]] = {}
    owners: dict[str, str] = {}  # written file: its source
    for split in SPLITS:
        csv_path = os.path.join(input_dir, f"{split}.csv")
        if not os.path.isfile(csv_path):
            continue
        entries[split] = []
        for path, label in read_split(csv_path, separator):
            source, written = _map_path(path, input_dir, output_dir)
            primary = os.path.abspath(os.path.join(output_dir, written))
            jobs[source] = {side: primary if side == options.short_sides[-1] else copy_path(primary, side)
                            for side in options.short_sides}
            for target in jobs[source].values():
                if owners.setdefault(target, source) != source:
                    raise DataError(f"'{owners[target]}' and '{source}' (in {csv_path}) would both be written to "
                                    f"'{target}'; rename one")
            entries[split].append((source, written, label))
    if not entries:
        raise FileNotFoundError(f"'{input_dir}' has none of {[s + '.csv' for s in SPLITS]}")
    result = _run_jobs(jobs, options, workers, progress)
    os.makedirs(output_dir, exist_ok=True)
    options.manifest.write(output_dir)
    for split, rows in entries.items():
        kept = [f"{written}{separator}{label}\n" for source, written, label in rows if source not in result.failures]
        csv_path = os.path.join(output_dir, f"{split}.csv")
        if kept:
            write_text_atomic(csv_path, "".join(kept))
            result.rows[csv_path] = len(kept)
        else:
            result.empty_csvs.append(csv_path)
    return result


def _run_jobs(jobs: dict[str, dict[int, str]], options: EncodeOptions, workers: int,
              progress: Optional[TextIO]) -> PreparedFolder:
    arguments = [(source, targets, options) for source, targets in jobs.items()]
    result = PreparedFolder()
    bar = progress_bar(len(arguments), "re-encoding", unit="video", stream=progress, enabled=progress is not None)
    with contextlib.ExitStack() as stack:
        stack.enter_context(bar)
        if workers > 1:
            videos = stack.enter_context(Pool(workers, initializer=_leave_ctrl_c_to_the_parent)).imap_unordered(
                _job, arguments)
        else:
            videos = map(_job, arguments)
        for video in videos:
            if video.error is not None:
                result.failures[video.source] = video.error
                bar.set_postfix(failed=len(result.failures))
            if video.notes:
                result.notes[video.source] = video.notes
            bar.update()
    return result

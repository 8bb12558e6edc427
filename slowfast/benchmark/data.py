"""Data-loader benchmark: clips/s of the real training loader per clip shape, and where the time goes."""
import time
from dataclasses import asdict, dataclass, fields
from typing import Optional, Sequence

import numpy as np
import torch

from slowfast.datasets.decoder import DecodeStats, decode_stats
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.loader import build_train_loader
from slowfast.datasets.transforms import crop_and_flip, to_clip_tensor
from slowfast.multigrid.schedule import Schedule
from slowfast.multigrid.shape import ClipShape


@dataclass(frozen=True)
class LoaderResult:
    """Throughput of one loader at one shape and worker count."""

    loader: str
    shape: str
    num_frames: int
    crop_size: int
    sampling_rate: tuple[int, int]
    batch_size: int
    num_workers: int
    num_batches: int
    clips_per_s: float
    batches_per_s: float
    decode_s_per_clip: Optional[float] = None
    transform_s_per_clip: Optional[float] = None
    # Process CPU seconds (all threads) per clip; with 0 workers only, where this process does the work.
    cpu_s_per_clip: Optional[float] = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoaderTiming:
    """What loading the timed batches took: wall and process CPU seconds, and the decoder's work
    counted in this process (all of it with 0 workers; none of the workers' otherwise)."""

    seconds: float
    batches: int
    cpu_seconds: float
    decoded: DecodeStats


def shape_name(shape: ClipShape) -> str:
    """'8x158 r2-8' for a shape: frames x crop and the sampling-rate range."""
    low, high = shape.sampling_rate
    return f"{shape.num_frames}x{shape.crop_size} r{low}" + (f"-{high}" if high != low else "")


def schedule_shapes(schedule: Schedule) -> list[ClipShape]:
    """Every distinct clip shape the schedule trains with, in order of first use."""
    shapes: list[ClipShape] = []
    for stage in schedule.stages:
        for shape in stage.short_cycle_shapes:
            if shape not in shapes:
                shapes.append(shape)
    return shapes


def shape_batches(num_items: int, shape: ClipShape, batch_size: int, num_batches: int, seed: int = 0) -> list[list]:
    """``num_batches`` batches of ``(index, shape, draw)`` items over a dataset of ``num_items``."""
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(num_items) for _ in range(num_batches * batch_size // num_items + 1)])
    return [
        [(int(order[b * batch_size + i]), shape, b) for i in range(batch_size)]
        for b in range(num_batches)
    ]


def time_loader(
    dataset: torch.utils.data.Dataset, batches: Sequence[list], num_workers: int, warmup_batches: int = 1
) -> LoaderTiming:
    """Loading ``batches`` after the first ``warmup_batches`` (worker start-up excluded)."""
    if warmup_batches < 1 or len(batches) <= warmup_batches:
        raise ValueError(f"need warmup_batches >= 1 and more batches than that, got {warmup_batches} of {len(batches)}")
    loader = build_train_loader(dataset, list(batches), num_workers, pin_memory=False, seed=0, persistent=False)
    start, cpu_start, decoded_start, timed = 0.0, 0.0, decode_stats(), 0
    for position, _ in enumerate(loader, start=1):
        if position == warmup_batches:
            start, cpu_start, decoded_start = time.perf_counter(), time.process_time(), decode_stats()
        elif position > warmup_batches:
            timed += 1
    return LoaderTiming(time.perf_counter() - start, timed, time.process_time() - cpu_start,
                        _difference(decode_stats(), decoded_start))


def _difference(after: DecodeStats, before: DecodeStats) -> DecodeStats:
    return DecodeStats(**{f.name: getattr(after, f.name) - getattr(before, f.name) for f in fields(DecodeStats)})


def measure_loader(
    name: str, dataset, shape: ClipShape, batch_size: int, num_workers: int, num_batches: int
) -> tuple[LoaderResult, LoaderTiming]:
    """Clips/s and batches/s of ``dataset`` behind the training DataLoader at ``shape``, and the raw timing."""
    batches = shape_batches(len(dataset), shape, batch_size, num_batches + 1)
    timing = time_loader(dataset, batches, num_workers, warmup_batches=1)
    seconds, timed = timing.seconds, timing.batches
    result = LoaderResult(
        loader=name, shape=shape_name(shape), num_frames=shape.num_frames, crop_size=shape.crop_size,
        sampling_rate=tuple(shape.sampling_rate), batch_size=batch_size, num_workers=num_workers,
        num_batches=timed, clips_per_s=timed * batch_size / seconds, batches_per_s=timed / seconds,
        cpu_s_per_clip=timing.cpu_seconds / (timed * batch_size) if num_workers == 0 else None,
    )
    return result, timing


def time_split(dataset: Kinetics, shape: ClipShape, num_clips: int) -> tuple[float, float]:
    """Mean (decode, transform) seconds per training clip of ``dataset`` at ``shape``, in this process:
    the dataset's own steps, decoding (prepared copy, scaled to the drawn short side) then crop,
    flip and the tensor copy."""
    options = dataset.options
    decode_total = transform_total = 0.0
    for index in range(num_clips):
        rng = np.random.default_rng([options.seed, index])
        tic = time.perf_counter()
        frames, _ = dataset.scaled_train_frames(index % dataset.num_videos, shape, rng)
        middle = time.perf_counter()
        to_clip_tensor(crop_and_flip(frames, rng, shape.crop_size, options.random_flip))
        decode_total += middle - tic
        transform_total += time.perf_counter() - middle
    return decode_total / num_clips, transform_total / num_clips


def with_split(result: LoaderResult, split: tuple[float, float]) -> LoaderResult:
    """The result with its per-clip decode/transform seconds filled in."""
    values = result.to_json()
    values.update(decode_s_per_clip=split[0], transform_s_per_clip=split[1])
    values["sampling_rate"] = tuple(values["sampling_rate"])
    return LoaderResult(**values)

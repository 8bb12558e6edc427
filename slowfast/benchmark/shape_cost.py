"""What one training clip costs the loader at each shape, against what it costs the model.

Issue 27's target: at every shape of the schedule, a clip's loader CPU time, over the full shape's
(of a reference run, e.g. the videos as downloaded), is at most max(2 x its FLOP share, 0.2),
where the FLOP share is the model's GFLOPs per clip at the shape over those at the full shape.
The CPU time is the loading process's (time.process_time, every thread of it) with 0 loader
workers, so that decoder threads count and other processes do not.
"""
from dataclasses import asdict, dataclass
from typing import Callable, Optional

from slowfast.benchmark.data import LoaderTiming, shape_name
from slowfast.multigrid.shape import ClipShape

MIN_TARGET = 0.2  # the target never asks for less than a fifth of the full shape's cost


@dataclass(frozen=True)
class ClipWork:
    """The loader's work per clip at one shape, measured with 0 workers."""

    shape: str
    num_frames: int
    crop_size: int
    sampling_rate: tuple[int, int]
    clips: int
    cpu_s_per_clip: float  # process CPU seconds (all threads) per clip
    wall_s_per_clip: float
    frames_decoded_per_clip: float  # frames the codec produced (those skipped by seeking are not)
    frames_converted_per_clip: float  # frames converted to RGB
    pixels_converted_per_clip: float  # output height x width summed over the converted frames

    def to_json(self) -> dict:
        return asdict(self)


def clip_work(shape: ClipShape, timing: LoaderTiming, batch_size: int) -> ClipWork:
    """Per-clip averages of a 0-worker ``timing`` of ``batch_size``-clip batches at ``shape``."""
    clips = timing.batches * batch_size
    if clips < 1:
        raise ValueError(f"no timed clips at {shape_name(shape)}: need --num-batches >= 1")
    return ClipWork(
        shape=shape_name(shape), num_frames=shape.num_frames, crop_size=shape.crop_size,
        sampling_rate=tuple(shape.sampling_rate), clips=clips,
        cpu_s_per_clip=timing.cpu_seconds / clips, wall_s_per_clip=timing.seconds / clips,
        frames_decoded_per_clip=timing.decoded.frames_decoded / clips,
        frames_converted_per_clip=timing.decoded.frames_converted / clips,
        pixels_converted_per_clip=timing.decoded.pixels_converted / clips,
    )


def cost_target(flop_share: float) -> float:
    """The most a shape's loader cost may be, relative to the full shape's: max(2 x FLOP share, 0.2)."""
    return max(2.0 * flop_share, MIN_TARGET)


def full_shape_row(rows: list[dict], full_shape: tuple[int, int], source: str) -> dict:
    """The row of ``rows`` at (frames, crop) ``full_shape``, or an error naming ``source``."""
    for row in rows:
        if (row["num_frames"], row["crop_size"]) == tuple(full_shape):
            return row
    measured = [row["shape"] for row in rows]
    raise ValueError(f"{source} has no clip cost at the full shape {full_shape[0]}x{full_shape[1]} "
                     f"(it measured {measured}); measure it with `benchmark.py data --workers 0 ...`")


def reference_from_report(report: dict, full_shape: tuple[int, int], path: str) -> dict:
    """{source, shape, cpu_s_per_clip} of the full shape in a saved `data --json` report."""
    if report.get("mode") != "data" or not report.get("shape_costs"):
        raise ValueError(f"--reference '{path}' is not a `benchmark.py data --workers 0 --json` output with "
                         "shape_costs (a run of this version with 0 workers among --workers)")
    row = full_shape_row(report["shape_costs"], full_shape, f"--reference '{path}'")
    return {"source": path, "shape": row["shape"], "cpu_s_per_clip": row["cpu_s_per_clip"]}


def shape_costs(
    work: list[ClipWork], gflops: Callable[[int, int], float], full_shape: tuple[int, int],
    reference: Optional[dict] = None,
) -> tuple[list[dict], dict]:
    """(rows, reference): each shape's work with its FLOP share, its CPU cost over the reference
    full-shape cost, the target and whether it is met. ``reference`` is {source, shape,
    cpu_s_per_clip}; None takes this run's own full-shape row."""
    rows = [row.to_json() for row in work]
    if reference is None:
        own = full_shape_row(rows, full_shape, "this run")
        reference = {"source": "this run", "shape": own["shape"], "cpu_s_per_clip": own["cpu_s_per_clip"]}
    full_gflops = gflops(*full_shape)
    out = []
    for row in rows:
        share = gflops(row["num_frames"], row["crop_size"]) / full_gflops
        cost = row["cpu_s_per_clip"] / reference["cpu_s_per_clip"]
        target = cost_target(share)
        out.append({**row, "flop_share": share, "cost_vs_reference": cost, "target": target, "passes": cost <= target})
    return out, reference

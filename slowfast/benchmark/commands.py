"""The three benchmarks of tools/benchmark.py as functions of a run's spec: data, model, schedule."""
import json
from functools import lru_cache
from typing import Callable, Optional, Sequence

import cv2
import torch

from slowfast.benchmark import gpu_node
from slowfast.benchmark.data import measure_loader, schedule_shapes, shape_name, time_split, with_split
from slowfast.benchmark.model import MEMORY_FORMATS, StepCase, autocast_for, measure_cases
from slowfast.benchmark.schedule_cost import StageCost, keeps_up, schedule_costs, summarize
from slowfast.benchmark.shape_cost import clip_work, reference_from_report, shape_costs
from slowfast.benchmark.simple_loader import SimpleVideoDataset
from slowfast.config import load_config
from slowfast.datasets.build import build_dataset
from slowfast.engine.inputs import input_shapes
from slowfast.engine.run_spec import RunSpec
from slowfast.models.build import build_model_from_spec
from slowfast.models.complexity import gflops_per_clip
from slowfast.models.norm import GroupedBatchNorm3d
from slowfast.multigrid.schedule import Schedule, build_schedule
from slowfast.multigrid.shape import ClipShape

BASELINE_OVERRIDES = ["MULTIGRID.LONG_CYCLE", "False", "MULTIGRID.SHORT_CYCLE", "False"]


def benchmark_data(
    spec: RunSpec, batch_size: int, workers: Sequence[int], num_batches: int,
    split_clips: int = 4, with_simple: bool = True, shapes: Optional[list[ClipShape]] = None,
    reference: Optional[dict] = None, progress: Callable[[str], None] = lambda line: None,
) -> dict:
    """Loader clips/s per shape of the schedule and worker count, with the simple loader alongside;
    with 0 among ``workers``, also each shape's work per clip against the model's FLOPs
    (``shape_costs``, relative to ``reference`` {source, shape, cpu_s_per_clip} or this run's
    full shape). ``progress`` sees a line before each measurement.

    This process decodes too (the time split, 0 workers) and then forks workers; OpenCV's thread
    pool does not survive a fork (the child hangs in ``cv2.setNumThreads``), so OpenCV runs
    single-threaded here, as it does in every worker.
    """
    cv2.setNumThreads(1)
    data = spec.data
    progress(f"reading the train split of {data.path_to_data_dir or '(the config default)'}")
    if data.options.decoded_cache_gb > 0:
        progress(f"note: DATA.DECODED_CACHE_GB {data.options.decoded_cache_gb:g} decodes the videos into memory "
                 "first (it can take a while), and clips are then cut from memory, not decoded; "
                 "add DATA.DECODED_CACHE_GB 0 to measure decoding")
    dataset = build_dataset(data, "train")
    simple = SimpleVideoDataset([dataset.video_path(i) for i in range(dataset.num_videos)], dataset.labels,
                                data.options.target_fps, spec.place.rng_seed)
    shapes = shapes or schedule_shapes(spec.schedule)
    results, work = [], []
    for number, shape in enumerate(shapes, start=1):
        name = f"[{number}/{len(shapes)}] {shape_name(shape)}"
        progress(f"{name}: decode/transform split over {split_clips} clips ({dataset.num_videos} videos)")
        split = time_split(dataset, shape, split_clips)
        for num_workers in workers:
            progress(f"{name}: ours, {num_workers} workers, {num_batches} timed batches of {batch_size}")
            row, timing = measure_loader("ours", dataset, shape, batch_size, num_workers, num_batches)
            results.append(with_split(row, split))
            if num_workers == 0:
                work.append(clip_work(shape, timing, batch_size))
            progress(f"{name}: ours, {num_workers} workers: {row.clips_per_s:.3g} clips/s")
            if with_simple:
                progress(f"{name}: simple loader, {num_workers} workers")
                results.append(measure_loader("simple", simple, shape, batch_size, num_workers, num_batches)[0])
    progress(f"counting the model's GFLOPs per clip at {len(shapes)} shapes")
    rows = [result.to_json() for result in results]
    gflops = _gflops_counter(spec)
    full_shape = _full_shape(spec)
    report = {"mode": "data", "decoded_cache_gb": data.options.decoded_cache_gb,
              "results": relative_to_full_shape(rows, full_shape, gflops)}
    if work:
        report["shape_costs"], report["cost_reference"] = shape_costs(work, gflops, full_shape, reference)
    return report


def data_reference(spec: RunSpec, path: str) -> dict:
    """The reference full-shape CPU cost per clip of a saved `data --json` report at ``path``."""
    return reference_from_report(read_json(path, "data"), _full_shape(spec), path)


def _full_shape(spec: RunSpec) -> tuple[int, int]:
    """(DATA.NUM_FRAMES, DATA.TRAIN_CROP_SIZE): the baseline's training shape."""
    return spec.schedule.spec.num_frames, spec.schedule.spec.crop_size


def _model(spec: RunSpec) -> torch.nn.Module:
    """The run's model, with the BN groups it trains with, on CPU."""
    return build_model_from_spec(spec.model, spec.schedule.bn_groups)


def _gflops_counter(spec: RunSpec) -> Callable[[int, int], float]:
    """GFLOPs per clip of the run's model at (frames, crop), each shape counted once."""
    model = _model(spec)

    @lru_cache(maxsize=None)
    def gflops(num_frames: int, crop_size: int) -> float:
        return gflops_per_clip(model, input_shapes(spec.model, num_frames, crop_size))

    return gflops


def relative_to_full_shape(rows: list[dict], full_shape: tuple[int, int], gflops) -> list[dict]:
    """Each loader row with its seconds per clip over the full shape's (same loader and workers;
    the largest measured shape when the full one is not among them) and the model's FLOPs per
    clip over the full shape's: a loader whose cost falls as fast as the model's keeps up at
    every shape of the schedule."""
    out = []
    for row in rows:
        peers = [r for r in rows if r["loader"] == row["loader"] and r["num_workers"] == row["num_workers"]]
        full = [r for r in peers if (r["num_frames"], r["crop_size"]) == tuple(full_shape)]
        reference = full[0] if full else max(peers, key=lambda r: r["num_frames"] * r["crop_size"] ** 2)
        out.append({**row, "loader_cost_vs_full": reference["clips_per_s"] / row["clips_per_s"],
                    "model_flops_vs_full": gflops(row["num_frames"], row["crop_size"])
                    / gflops(reference["num_frames"], reference["crop_size"])})
    return out


def benchmark_model(
    spec: RunSpec, batch_sizes: Optional[Sequence[int]], num_steps: int, device: torch.device,
    shapes: Optional[Sequence[tuple[int, int]]] = None, precisions: Sequence[str] = ("fp32",),
    memory_formats: Sequence[str] = ("contiguous",), on_result: Optional[Callable[[dict], None]] = None,
    with_bn: bool = False,
) -> dict:
    """Forward+backward seconds per step and per GFLOP, and step memory, per (frames, crop) of the
    schedule and batch; with ``with_bn`` also the BN layers alone, grouped against plain.

    ``shapes`` limits it to some (frames, crop) pairs of the schedule. ``batch_sizes`` None
    measures each shape at the per-device batch the schedule trains it with (the config's
    NUM_GPUS x NUM_SHARDS devices), so equal seconds per GFLOP mean the schedule's FLOP saving
    becomes time. Steps are timed interleaved over the shapes, ``num_steps`` rounds, medians.
    ``on_result`` sees each row once its memory format is measured.
    """
    unknown = [name for name in memory_formats if name not in MEMORY_FORMATS]
    if unknown:
        raise ValueError(f"memory formats must be among {sorted(MEMORY_FORMATS)}, got {unknown}")
    for precision in precisions:
        autocast_for(precision, device)  # rejects bf16 on CPU before any work
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as in training: each shape is tuned once
    model = _model(spec).to(device)
    schedule, num_devices = spec.schedule, spec.place.num_devices
    per_shape = schedule_batch_sizes(schedule, num_devices)
    for layer in model.modules():
        if isinstance(layer, GroupedBatchNorm3d) and layer.reference_batch is not None:
            # This one process stands for every device: BN groups follow the per-device batch.
            layer.reference_batch = max(layer.reference_batch // num_devices, 1)
    missing = [f"{t}x{c}" for t, c in shapes or [] if (t, c) not in per_shape]
    if missing:
        raise ValueError(f"shapes {missing} are not in the schedule; it trains "
                         f"{[f'{t}x{c}' for t, c in per_shape]}")
    cases = [
        StepCase((num_frames, crop_size), tuple(input_shapes(spec.model, num_frames, crop_size)), batch_size,
                 precision)
        for (num_frames, crop_size), scheduled_batch in per_shape.items()
        if shapes is None or (num_frames, crop_size) in shapes
        for precision in precisions
        for batch_size in batch_sizes or [scheduled_batch]
    ]

    @lru_cache(maxsize=None)
    def gflops(shape: tuple[int, int]) -> float:
        return gflops_per_clip(model, input_shapes(spec.model, *shape))

    results = []
    for format_name in memory_formats:
        rows = measure_cases(
            model, cases, gflops, _full_shape(spec), device, num_steps,
            memory_format_name=format_name, with_bn=with_bn, warmup_steps=2 if device.type == "cuda" else 1,
        )
        for row in rows:
            results.append(row.to_json())
            if on_result is not None:
                on_result(results[-1])
    return {"mode": "model", "results": results}


def schedule_batch_sizes(schedule: Schedule, num_devices: int) -> dict[tuple[int, int], int]:
    """(frames, crop) -> per-device batch, for every shape the schedule trains, in order of first use.

    A shape used with different batches in different stages keeps the largest.
    """
    batches: dict[tuple[int, int], int] = {}
    for stage in schedule.stages:
        for shape, global_batch in zip(stage.short_cycle_shapes, stage.short_cycle_batch_sizes):
            key = (shape.num_frames, shape.crop_size)
            batches[key] = max(batches.get(key, 0), max(global_batch // num_devices, 1))
    return batches


def benchmark_schedule(
    spec: RunSpec, cfg_file: str, overrides: Sequence[str], num_clips: int,
    data_json: Optional[dict] = None, model_json: Optional[dict] = None, cores_per_gpu: Optional[float] = None,
    precision: str = "fp32", memory_format: str = "contiguous",
) -> dict:
    """Per-stage iterations and GFLOPs, predicted speedup over the baseline, and loader-vs-model check;
    with ``cores_per_gpu``, whether the loader keeps up on a GPU node (:mod:`gpu_node`) per stage."""
    gflops, schedule = _gflops_counter(spec), spec.schedule
    baseline = build_schedule(load_config(cfg_file, list(overrides) + BASELINE_OVERRIDES))
    costs = schedule_costs(schedule, num_clips, gflops)
    report = {"mode": "schedule", "num_clips": num_clips, "stages": [cost.to_json() for cost in costs],
              **summarize(costs, schedule_costs(baseline, num_clips, gflops))}
    if data_json is not None and model_json is not None:
        report["keeps_up"] = keeps_up(
            schedule_shapes(schedule), _best_loader(data_json), _best_model(model_json), shape_name
        )
        if cores_per_gpu is not None:
            report["gpu_node"] = predict_gpu_node(
                schedule, num_clips, spec.place.num_devices, data_json, model_json, gflops, cores_per_gpu, precision,
                memory_format,
            )
    return report


def predict_gpu_node(
    schedule: Schedule, num_clips: int, num_devices: int, data_json: dict, model_json: dict,
    gflops: Callable[[int, int], float], cores_per_gpu: float, precision: str, memory_format: str,
) -> dict:
    """Per stage, the loader's clips/s on ``cores_per_gpu`` cores against one GPU's, and the run's time."""
    shapes = schedule_shapes(schedule)
    cpu_s = _cpu_seconds_per_clip(data_json, [shape_name(shape) for shape in shapes])
    frames_crops = list(dict.fromkeys((shape.num_frames, shape.crop_size) for shape in shapes))
    steps = gpu_node.gpu_seconds_per_clip(_step_table(model_json, precision, memory_format), frames_crops, gflops)
    gpu_s = {key: step.gpu_s_per_clip for key, step in steps.items()}
    stages = [
        gpu_node.predict_stage(
            stage.index, stage.num_epochs, f"{stage.num_frames}x{stage.crop_size}",
            gpu_node.stage_phases(stage, num_clips, num_devices, {s: cpu_s[shape_name(s)] for s in shapes}, gpu_s),
            cores_per_gpu,
        )
        for stage in schedule.stages
    ]
    shape_rows = [{"shape": shape_name(shape), "cpu_s_per_clip": cpu_s[shape_name(shape)],
                   "gpu_s_per_clip": gpu_s[(shape.num_frames, shape.crop_size)],
                   "gpu_step_source": steps[(shape.num_frames, shape.crop_size)].source} for shape in shapes]
    return {"cores_per_gpu": cores_per_gpu, "num_devices": num_devices, "precision": precision,
            "memory_format": memory_format, "step_times_from": model_json.get("source", "a `model --json` output"),
            "shapes": shape_rows, "stages": [stage.to_json() for stage in stages], **gpu_node.summarize_run(stages)}


def _cpu_seconds_per_clip(data_json: dict, names: list[str]) -> dict[str, float]:
    """Loader CPU seconds per clip by shape name from a `data --json` report's shape_costs."""
    measured = {row["shape"]: row["cpu_s_per_clip"] for row in data_json.get("shape_costs", [])}
    missing = [name for name in names if name not in measured]
    if missing:
        raise ValueError(f"--data-json has no CPU seconds per clip for {missing}: give it the output of "
                         "`benchmark.py data --workers 0 --json` with the same config")
    return measured


def _step_table(model_json: dict, precision: str, memory_format: str) -> dict[tuple[int, int], tuple[float, int]]:
    """(frames, crop) -> (step_s, batch) of the fastest row per clip in ``precision`` and ``memory_format``."""
    table: dict[tuple[int, int], tuple[float, int]] = {}
    for row in model_json["results"]:
        if (row.get("precision", "fp32"), row.get("memory_format", "contiguous")) != (precision, memory_format):
            continue
        frames, crop = (int(side) for side in row["shape"].split("x"))
        candidate = (row["step_s"], row["batch_size"])
        best = table.get((frames, crop))
        if best is None or candidate[0] / candidate[1] < best[0] / best[1]:
            table[(frames, crop)] = candidate
    return table


def _best_loader(data_json: dict) -> dict[str, float]:
    """Our loader's best clips/s per shape over the measured worker counts."""
    best: dict[str, float] = {}
    for row in data_json["results"]:
        if row["loader"] == "ours":
            best[row["shape"]] = max(best.get(row["shape"], 0.0), row["clips_per_s"])
    return best


def _best_model(model_json: dict) -> dict[str, float]:
    """The model's best clips/s per frames x crop over the measured batch sizes."""
    best: dict[str, float] = {}
    for row in model_json["results"]:
        best[row["shape"]] = max(best.get(row["shape"], 0.0), row["clips_per_s"])
    return best


def read_json(path: str, mode: str) -> dict:
    """A saved benchmark JSON of ``mode``, with an error naming the file when it is something else."""
    with open(path) as handle:
        data = json.load(handle)
    if data.get("mode") != mode:
        raise ValueError(f"'{path}' is not a `benchmark.py {mode} --json` output (mode {data.get('mode')!r})")
    return data


def format_rows(rows: list[dict], columns: Sequence[str]) -> str:
    """An aligned text table of ``columns`` of ``rows`` (floats with 4 significant digits)."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, (list, tuple)):
            return "-".join(str(v) for v in value)
        return "-" if value is None else str(value)

    table = [list(columns)] + [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def training_costs(spec: RunSpec, num_clips: int) -> list[StageCost]:
    """Iterations and training GFLOPs of each stage of ``spec``'s schedule at ``num_clips`` clips per epoch."""
    return schedule_costs(spec.schedule, num_clips, _gflops_counter(spec))

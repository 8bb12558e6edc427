#!/usr/bin/env python
"""Measure the data loader, the model and the schedule of a config (tables, or JSON with --json).

python tools/benchmark.py data --cfg FILE [--workers 0,2] [--batch-size 8] [--reference DATA.json]
                               [--write-kinetics-like DIR | --data-dir DIR [--copy-videos F1,F2,...]]
    Videos: --write-kinetics-like writes Kinetics-like ones as downloaded (340x256, 30 fps, 10 s,
    keyframe every 250, B-frames); --data-dir measures any Kinetics-format folder (CSVs of
    "<path> <label>", e.g. one written by tools/prepare_videos.py); --copy-videos first copies the
    given files into --data-dir and writes its CSVs (real-world clips, see slowfast/benchmark/videos.py).
    With 0 among --workers it also reports each shape's CPU seconds, frames decoded and converted and
    pixels converted per clip, its FLOP share, and its cost over the full shape's of --reference (or
    of this run) against the target max(2 x FLOP share, 0.2), PASS or FAIL.
python tools/benchmark.py model --cfg FILE [--batch-sizes 8,16] [--device cpu|cuda] [--bn]
                                [--precisions fp32,bf16] [--memory-formats contiguous,channels_last_3d]
    (per-device batches follow NUM_GPUS x NUM_SHARDS devices: NUM_SHARDS 8 on one CPU gives
    the 64-device batches, 1 clip at the full shape and as many FLOPs at every other shape)
python tools/benchmark.py schedule --cfg FILE --num-clips N [--data-json F --model-json F
                                   [--cores-per-gpu 16] [--precisions fp32] [--memory-formats contiguous]]
    --cores-per-gpu predicts per stage whether the loader keeps up with a GPU: --data-json from
    `data --workers 0 --json`, --model-json from `model --device cuda --json` or a step-time table such
    as projects/multigrid/results/gpu_h200_2026-11-26_step_times.json. Shapes without a step time take
    the nearest measured shape's seconds per GFLOP (nearest in GFLOPs per clip).
Trailing KEY VALUE pairs override the config. Progress goes to stderr.
"""
import argparse
import json
import os
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from slowfast.benchmark import commands  # noqa: E402
from slowfast.benchmark.model import MEMORY_FORMATS, PRECISIONS  # noqa: E402
from slowfast.config import ConfigError  # noqa: E402
from slowfast.engine.run_spec import build_run_spec  # noqa: E402
from slowfast.utils import cli  # noqa: E402

COLUMNS = {
    "data": ("loader", "shape", "batch_size", "num_workers", "clips_per_s", "batches_per_s",
             "decode_s_per_clip", "transform_s_per_clip", "loader_cost_vs_full", "model_flops_vs_full"),
    "model": ("shape", "batch_size", "device", "precision", "memory_format", "step_s", "clips_per_s",
              "gflops", "s_per_gflop", "relative_s_per_gflop", "bn_grouped_s", "bn_plain_s", "bn_ratio",
              "cuda_max_allocated_mb", "cpu_rss_growth_mb"),
    "schedule": ("stage", "epochs", "shape", "iterations", "gflops_per_iteration", "total_gflops"),
    "shape_costs": ("shape", "clips", "cpu_s_per_clip", "frames_decoded_per_clip", "frames_converted_per_clip",
                    "pixels_converted_per_clip", "flop_share", "cost_vs_reference", "target", "result"),
    "gpu_node": ("stage", "epochs", "shape", "loader_clips_per_s", "gpu_clips_per_s", "headroom", "bound",
                 "predicted_h"),
}


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if any(value < 0 for value in values):
        raise argparse.ArgumentTypeError(f"values must be >= 0, got {text!r}")
    return values


def _name_list(choices: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        names = [part for part in text.split(",") if part]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"expected comma-separated names from {list(choices)}, got {text!r}")
        return names

    return parse


def _shape_list(text: str) -> list[tuple[int, int]]:
    try:
        shapes = [tuple(int(side) for side in part.split("x")) for part in text.split(",") if part]
    except ValueError:
        shapes = []
    if not shapes or any(len(shape) != 2 for shape in shapes):
        raise argparse.ArgumentTypeError(f"expected comma-separated FRAMESxCROP shapes like 8x112, got {text!r}")
    return shapes


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Mode, config and mode options; trailing KEY VALUE pairs override the config."""
    parser = cli.parser(__doc__)
    parser.add_argument("mode", choices=("data", "model", "schedule"))
    cli.add_config_arguments(parser, "KEY VALUE pairs, e.g. DATA.PATH_TO_DATA_DIR /data")
    parser.add_argument("--json", action="store_true", help="print one JSON object, not a table")
    parser.add_argument("--save", metavar="FILE", default=None, help="also write the JSON report to FILE")
    parser.add_argument("--workers", type=_int_list, default=[0, 2], help="data: loader worker counts")
    parser.add_argument("--batch-size", type=int, default=8, help="data: clips per batch")
    parser.add_argument("--num-batches", type=int, default=5, help="data: timed batches per measurement")
    parser.add_argument("--no-simple", action="store_true", help="data: skip the simple reference loader")
    parser.add_argument("--write-kinetics-like", metavar="DIR", default=None,
                        help="data: first write Kinetics-like videos and CSVs to DIR and measure on them")
    parser.add_argument("--num-videos", type=int, default=16, help="data: videos to write")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="data: measure this Kinetics-format folder (train.csv of '<path> <label>')")
    parser.add_argument("--copy-videos", metavar="F1,F2,...", type=_path_list, default=None,
                        help="data: first copy these video files into --data-dir and write its CSVs")
    parser.add_argument("--reference", metavar="FILE", default=None,
                        help="data: a `data --workers 0 --json` output whose full-shape CPU seconds per clip "
                             "the costs are relative to (default: this run's)")
    parser.add_argument("--batch-sizes", type=_int_list, default=None,
                        help="model: batch sizes (default: each shape's per-device batch in the schedule)")
    parser.add_argument("--num-steps", type=int, default=5,
                        help="model: timed rounds (one step of every shape each; medians)")
    parser.add_argument("--bn", action="store_true",
                        help="model: also time the BN layers alone, grouped (as trained) against plain BN")
    parser.add_argument("--device", default=None, help="model: torch device (default cuda if available)")
    parser.add_argument("--precisions", type=_name_list(PRECISIONS), default=["fp32"],
                        help="model: fp32 and/or bf16 (bf16 autocast, CUDA only)")
    parser.add_argument("--shapes", type=_shape_list, default=None,
                        help="model: only these FRAMESxCROP shapes of the schedule, e.g. 8x112,32x224")
    parser.add_argument("--memory-formats", type=_name_list(tuple(MEMORY_FORMATS)), default=["contiguous"],
                        help="model: contiguous and/or channels_last_3d")
    parser.add_argument("--num-clips", type=int, default=None, help="schedule: training clips per epoch")
    parser.add_argument("--data-json", default=None, help="schedule: output of `data --json`")
    parser.add_argument("--model-json", default=None,
                        help="schedule: output of `model --json`, or a step-time table in that format")
    parser.add_argument("--cores-per-gpu", type=float, default=None,
                        help="schedule: CPU cores per GPU; predicts per stage whether the loader keeps up")
    args = parser.parse_intermixed_args(argv)  # options may follow the KEY VALUE pairs
    cli.at_least_one(parser, args, "batch_size", "num_batches", "num_videos", "num_steps")
    if args.mode == "schedule" and (args.num_clips is None or args.num_clips < 1):
        parser.error("schedule needs --num-clips N >= 1 (training clips per epoch)")
    if (args.data_json is None) != (args.model_json is None):
        parser.error("--data-json and --model-json go together")
    if args.cores_per_gpu is not None and (args.data_json is None or args.cores_per_gpu <= 0):
        parser.error("--cores-per-gpu needs a value > 0 and --data-json and --model-json")
    if args.mode == "schedule" and args.cores_per_gpu is not None and (
            len(args.precisions) > 1 or len(args.memory_formats) > 1):
        parser.error("schedule takes one precision and one memory format (the step times to use)")
    if args.write_kinetics_like and args.data_dir:
        parser.error("--write-kinetics-like DIR and --data-dir DIR are two sources of videos: give one")
    if args.copy_videos and not args.data_dir:
        parser.error("--copy-videos needs --data-dir DIR (the folder to copy them into)")
    return args


def _path_list(text: str) -> list[str]:
    paths = [part for part in text.split(",") if part]
    if not paths:
        raise argparse.ArgumentTypeError(f"expected comma-separated file paths, got {text!r}")
    return paths


def progress(line: str) -> None:
    """A progress line on stderr (the report goes to stdout)."""
    print(f"benchmark: {line}", file=sys.stderr, flush=True)


def _write_videos(folder: str, num_videos: int) -> None:
    from slowfast.benchmark.videos import VideoSpec, write_kinetics_like
    from slowfast.utils.progress import progress_bar

    spec = VideoSpec()
    progress(f"writing {num_videos} Kinetics-like videos ({spec.width}x{spec.height}, {spec.fps} fps, "
             f"{spec.seconds:g} s, keyframe every {spec.keyframe_interval}, B-frames) to {folder} (kept ones reused)")
    with progress_bar(num_videos, "videos", unit="video") as bar:
        write_kinetics_like(folder, num_videos, spec, on_video=lambda path: bar.update())


def run(args: argparse.Namespace) -> dict:
    """The chosen benchmark's JSON report."""
    overrides = []
    if args.write_kinetics_like:
        _write_videos(args.write_kinetics_like, args.num_videos)
        overrides += ["DATA.PATH_TO_DATA_DIR", args.write_kinetics_like, "TRAIN.DATASET", "kinetics",
                      "SYNTHETIC.GENERATE", "False", "MODEL.NUM_CLASSES", "4"]
    if args.copy_videos:
        from slowfast.benchmark.videos import copy_videos

        progress(f"copying {len(args.copy_videos)} videos into {args.data_dir} and writing its CSVs")
        copy_videos(args.data_dir, args.copy_videos)
    if args.data_dir:
        overrides += ["DATA.PATH_TO_DATA_DIR", args.data_dir, "TRAIN.DATASET", "kinetics",
                      "SYNTHETIC.GENERATE", "False"]
    spec = build_run_spec(cli.load(args, overrides))
    overrides = list(args.overrides) + overrides
    if args.mode == "data":
        reference = commands.data_reference(spec, args.reference) if args.reference else None
        torch.set_num_threads(1)  # the loader's own threads; the decoder and OpenCV do the work
        return commands.benchmark_data(spec, args.batch_size, args.workers, args.num_batches,
                                       with_simple=not args.no_simple, reference=reference, progress=progress)
    if args.mode == "model":
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        return commands.benchmark_model(
            spec, args.batch_sizes, args.num_steps, device, shapes=args.shapes, precisions=args.precisions,
            memory_formats=args.memory_formats, with_bn=args.bn,
            on_result=lambda row: print(" ".join(f"{key}={value}" for key, value in row.items()),
                                        file=sys.stderr, flush=True),
        )
    data = commands.read_json(args.data_json, "data") if args.data_json else None
    model = commands.read_json(args.model_json, "model") if args.model_json else None
    return commands.benchmark_schedule(spec, args.cfg_file, overrides, args.num_clips, data, model,
                                       args.cores_per_gpu, args.precisions[0], args.memory_formats[0])


def format_report(report: dict) -> str:
    """The report as text tables."""
    if report["mode"] == "data":
        return _format_data(report)
    if report["mode"] != "schedule":
        return commands.format_rows(report["results"], COLUMNS[report["mode"]])
    lines = [commands.format_rows(report["stages"], COLUMNS["schedule"]),
             f"{report['iterations']} iterations, {report['total_gflops']:.4g} training GFLOPs; baseline "
             f"{report['baseline_iterations']} iterations, {report['baseline_total_gflops']:.4g} GFLOPs; "
             f"predicted speedup {report['predicted_speedup']:.3g}x"]
    if report.get("keeps_up"):
        columns = ("shape", "loader_clips_per_s", "model_clips_per_s", "keeps_up")
        lines.append(commands.format_rows(report["keeps_up"], columns))
    if "gpu_node" in report:
        lines.append(_format_gpu_node(report["gpu_node"]))
    return "\n".join(lines)


def _format_data(report: dict) -> str:
    lines = [commands.format_rows(report["results"], COLUMNS["data"])]
    if "shape_costs" in report:
        reference = report["cost_reference"]
        rows = [{**row, "result": "PASS" if row["passes"] else "FAIL"} for row in report["shape_costs"]]
        lines += ["", commands.format_rows(rows, COLUMNS["shape_costs"]),
                  f"cost_vs_reference: CPU s per clip over {reference['cpu_s_per_clip']:.4g} s, the full shape "
                  f"{reference['shape']} of {reference['source']}; target max(2 x flop_share, 0.2)"]
    return "\n".join(lines)


def _format_gpu_node(node: dict) -> str:
    steps = commands.format_rows(node["shapes"], ("shape", "cpu_s_per_clip", "gpu_s_per_clip", "gpu_step_source"))
    stages = [{**stage, "predicted_h": stage["predicted_s"] / 3600} for stage in node["stages"]]
    efficiency = "-" if node["efficiency"] is None else f"{node['efficiency']:.1%}"
    return "\n".join([
        f"\nOn a GPU node: {node['cores_per_gpu']:g} cores per GPU, {node['num_devices']} GPUs, step times "
        f"({node['precision']}, {node['memory_format']}) from {node['step_times_from']}", steps,
        commands.format_rows(stages, COLUMNS["gpu_node"]),
        f"predicted {node['predicted_hours']:.4g} h (GPU-bound {node['gpu_bound_s'] / 3600:.4g} h), "
        f"efficiency {efficiency}; loader-bound stages: {node['loader_bound_stages'] or 'none'}"])


@cli.one_line_errors(ConfigError, ValueError, OSError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    report = run(args)
    if args.save:
        with open(args.save, "w") as handle:
            json.dump(report, handle, indent=1)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The paper's ablation on one config: baseline, long cycle, short cycle, long+short, run to completion.

Each variant is a ``tools/run_net.py`` subprocess with its own OUTPUT_DIR; its ``json_stats``
lines are timestamped as they arrive, so validation accuracy can be plotted against wall-clock.
"""
import json
import math
import os
import re
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Callable, Optional, Sequence

from slowfast.utils.atomic import write_text_atomic

# name -> (MULTIGRID.LONG_CYCLE, MULTIGRID.SHORT_CYCLE)
VARIANTS = {
    "baseline": (False, False),
    "long_cycle": (True, False),
    "short_cycle": (False, True),
    "long_short": (True, True),
}
LOG_TAIL_LINES = 10
# Written into a variant's OUTPUT_DIR when it completes: its result and the command that made it.
RECORD_FILE = "ablation_run.json"
STATS_PATTERN = re.compile(r"json_stats: (\{.*\})\s*$")


@dataclass
class VariantRun:
    """What one training run produced: time, validation curve, final test metric, peak memory."""

    name: str
    output_dir: str
    returncode: int
    wall_clock_s: float
    peak_rss_mb: float
    val_curve: list = field(default_factory=list)  # (seconds since start, top1 or mAP)
    test_metric: Optional[float] = None
    iterations: Optional[int] = None
    train_gflops: Optional[float] = None
    log_tail: list = field(default_factory=list)  # last output lines, to show why a run failed
    time_split: list = field(default_factory=list)  # the run's time_split records, one per stage
    run_time: dict = field(default_factory=dict)  # its run_time record: data prep, setup, train, test
    stage_gflops: list = field(default_factory=list)  # predicted training GFLOPs of each stage
    seed: Optional[int] = None  # RNG_SEED, when the ablation repeats variants over seeds
    test_videos: Optional[int] = None  # videos behind test_metric

    @property
    def label(self) -> str:
        return self.name if self.seed is None else f"{self.name} (seed {self.seed})"

    def to_json(self) -> dict:
        return asdict(self)


def save_record(run: VariantRun, command: Sequence[str]) -> str:
    """Record a completed run next to its outputs, with its command line minus the interpreter."""
    path = os.path.join(run.output_dir, RECORD_FILE)
    record = {"command": list(command[1:]), "run": run.to_json()}
    write_text_atomic(path, json.dumps(record, indent=1))  # a torn record would mark a run done
    return path


def load_record(output_dir: str, command: Sequence[str]) -> Optional[VariantRun]:
    """The run recorded in ``output_dir`` by the same command line, else None (none, another command, unreadable)."""
    try:
        with open(os.path.join(output_dir, RECORD_FILE)) as handle:
            record = json.load(handle)
        if record["command"] != list(command[1:]):
            return None
        fields = dict(record["run"])
        fields["val_curve"] = [tuple(point) for point in fields["val_curve"]]
        return VariantRun(**fields)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def set_aside(output_dir: str, now: Callable[[], datetime] = datetime.now) -> Optional[str]:
    """Rename an earlier run's folder to ``<folder>.replaced-<time>`` so a new run starts afresh.

    run_net would otherwise resume from that folder's checkpoints and time only what was left.
    Returns the new name, or None when there was nothing to move.
    """
    if not os.path.exists(output_dir):
        return None
    stamp = f"{output_dir.rstrip(os.sep)}.replaced-{now():%Y%m%d-%H%M%S}"
    target, count = stamp, 1
    while os.path.exists(target):
        count += 1
        target = f"{stamp}-{count}"
    os.rename(output_dir, target)
    return target


def variant_overrides(name: str, output_root: str, seed: Optional[int] = None) -> list[str]:
    """KEY VALUE overrides that select variant ``name`` and give it its own OUTPUT_DIR; with
    ``seed``, also its RNG_SEED, in a folder of its own."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose from {sorted(VARIANTS)}")
    long_cycle, short_cycle = VARIANTS[name]
    overrides = ["MULTIGRID.LONG_CYCLE", str(long_cycle), "MULTIGRID.SHORT_CYCLE", str(short_cycle),
                 "OUTPUT_DIR", variant_dir(output_root, name, seed)]
    return overrides + ([] if seed is None else ["RNG_SEED", str(seed)])


def variant_dir(output_root: str, name: str, seed: Optional[int] = None) -> str:
    """DIR/<variant>, or DIR/<variant>_seed<seed> when the ablation repeats over seeds."""
    return os.path.join(output_root, name if seed is None else f"{name}_seed{seed}")


def parse_stats_line(line: str) -> Optional[dict]:
    """The record of a ``json_stats: {...}`` log line, else None."""
    match = STATS_PATTERN.search(line)
    return json.loads(match.group(1)) if match else None


def metric_of(record: dict) -> Optional[float]:
    """Top-1 accuracy (single-label) or mAP (multi-label) of a val/test record, in %.

    Records use PySlowFast's keys: ``top1_err`` in val_epoch, ``top1_acc`` in test_final; a record
    with neither may give the accuracy as ``top1``.
    """
    if "top1_err" in record:
        return 100.0 - float(record["top1_err"])
    for key in ("top1_acc", "top1", "map"):
        if key in record:
            return float(record[key])
    return None


def run_variant(
    command: Sequence[str], name: str, output_dir: str, clock: Callable[[], float] = time.perf_counter
) -> VariantRun:
    """Run ``command`` to completion, timestamping its val records; the test metric is its last test record."""
    start = clock()
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    curve, test_metric, tail = [], None, deque(maxlen=LOG_TAIL_LINES)
    split, run_time, test_videos = {}, {}, None
    for line in process.stdout:
        record = parse_stats_line(line)
        if record is None:
            tail.append(line.rstrip())
            continue
        kind = record.get("_type") or record.get("split", "")  # test records name their split
        if kind == "val_epoch" and metric_of(record) is not None:
            curve.append((clock() - start, metric_of(record)))
        elif kind.startswith("test") and metric_of(record) is not None:
            test_metric, test_videos = metric_of(record), record.get("num_videos")
        elif kind == "time_split":
            split[record["stage"]] = record  # a resumed run logs its whole history again
        elif kind == "run_time":
            run_time = record
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return VariantRun(name=name, output_dir=output_dir, returncode=process.returncode,
                      wall_clock_s=clock() - start, peak_rss_mb=usage.ru_maxrss / 1024.0,
                      val_curve=curve, test_metric=test_metric, log_tail=list(tail),
                      time_split=[split[stage] for stage in sorted(split)], run_time=run_time,
                      test_videos=test_videos)


def run_net_command(run_net: str, cfg_file: str, overrides: Sequence[str]) -> list[str]:
    """The subprocess command line of one variant."""
    return [sys.executable, run_net, "--cfg", cfg_file, *overrides]


def markdown_table(runs: Sequence[VariantRun], metric_name: str = "top-1") -> str:
    """The ablation as a Markdown table, a row per run: speedup and FLOP ratio against the baseline
    run of the same seed, efficiency = speedup / FLOP ratio (1.0: every FLOP saved became
    time saved), and step efficiency, the same for the seconds of training steps alone (what is
    left of the saving before data waits, evaluation and the run's fixed costs)."""
    lines = [f"| variant | wall-clock (s) | speedup | iterations | training GFLOPs | FLOP ratio | efficiency "
             f"| step efficiency | data wait | peak RSS (MB) | test {metric_name} |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        baseline = _baseline_of(run, runs)
        speedup = baseline.wall_clock_s / run.wall_clock_s if baseline and run.wall_clock_s > 0 else None
        flop_ratio = (baseline.train_gflops / run.train_gflops
                      if baseline and baseline.train_gflops and run.train_gflops else None)
        efficiency = speedup / flop_ratio if speedup and flop_ratio else None
        step_s, base_step_s = _step_seconds(run), _step_seconds(baseline) if baseline else None
        step_efficiency = base_step_s / step_s / flop_ratio if step_s and base_step_s and flop_ratio else None
        cells = [run.label, f"{run.wall_clock_s:.1f}", _fmt(speedup, "{:.2f}x"), _fmt(run.iterations, "{}"),
                 _fmt(run.train_gflops, "{:.4g}"), _fmt(flop_ratio, "{:.2f}x"), _fmt(efficiency, "{:.2f}"),
                 _fmt(step_efficiency, "{:.2f}"),
                 _fmt(_data_wait_share(run.time_split), "{:.0%}"), f"{run.peak_rss_mb:.0f}",
                 _fmt(run.test_metric, "{:.2f}")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _baseline_of(run: VariantRun, runs: Sequence[VariantRun]) -> Optional[VariantRun]:
    """The baseline run of ``run``'s seed."""
    return next((other for other in runs if other.name == "baseline" and other.seed == run.seed), None)


def _step_seconds(run: VariantRun) -> Optional[float]:
    """Seconds of training steps over all stages; None without a time split."""
    return sum(record["step_s"] for record in run.time_split) or None


def seeds_table(runs: Sequence[VariantRun], metric_name: str = "top-1") -> str:
    """Each variant over its seeds: mean wall clock and speedup, test metric mean and spread, and
    its difference to the baseline with the standard error of that difference, from the seeds
    (Welch: sqrt(s_v^2/n_v + s_b^2/n_b)) and from the test set's size alone (binomial)."""
    groups: dict[str, list[VariantRun]] = {}
    for run in runs:
        groups.setdefault(run.name, []).append(run)
    baseline = groups.get("baseline", [])
    lines = [f"| variant | seeds | wall-clock (s), mean | speedup | test {metric_name}: mean | sd | "
             f"difference to baseline | SE of difference (seeds) | SE of difference (test set) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, group in groups.items():
        seconds = [run.wall_clock_s for run in group]
        metrics = [run.test_metric for run in group if run.test_metric is not None]
        base_metrics = [run.test_metric for run in baseline if run.test_metric is not None]
        speedup = _mean([r.wall_clock_s for r in baseline]) / _mean(seconds) if baseline else None
        difference = _mean(metrics) - _mean(base_metrics) if metrics and base_metrics else None
        seed_se = (math.sqrt(_var(metrics) / len(metrics) + _var(base_metrics) / len(base_metrics))
                   if len(metrics) > 1 and len(base_metrics) > 1 else None)
        videos = group[0].test_videos
        test_se = (math.sqrt(sum(_binomial_var(m, videos) for m in metrics) / len(metrics) ** 2
                             + sum(_binomial_var(m, videos) for m in base_metrics) / len(base_metrics) ** 2)
                   if metrics and base_metrics and videos else None)
        cells = [name, str(len(group)), f"{_mean(seconds):.1f}", _fmt(speedup, "{:.2f}x"),
                 _fmt(_mean(metrics) if metrics else None, "{:.2f}"),
                 _fmt(math.sqrt(_var(metrics)) if len(metrics) > 1 else None, "{:.2f}"),
                 _fmt(difference if name != "baseline" else None, "{:+.2f}"),
                 _fmt(seed_se if name != "baseline" else None, "{:.2f}"),
                 _fmt(test_se if name != "baseline" else None, "{:.2f}")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _var(values: Sequence[float]) -> float:
    """Sample variance (n - 1)."""
    mean = _mean(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _binomial_var(percent: float, videos: int) -> float:
    """Variance, in points squared, of an accuracy of ``percent`` measured on ``videos`` videos."""
    p = percent / 100.0
    return 10000.0 * p * (1 - p) / videos


def _data_wait_share(split: Sequence[dict]) -> Optional[float]:
    """The largest share of a stage's training time (steps + data) spent waiting for data."""
    shares = [r["data_s"] / (r["data_s"] + r["step_s"]) for r in split if r["data_s"] + r["step_s"] > 0]
    return max(shares) if shares else None


SPLIT_COLUMNS = ("step", "data", "compile", "val", "precise_bn", "checkpoint")


def time_split_table(runs: Sequence[VariantRun]) -> str:
    """Where each variant's seconds went, per multigrid stage, next to the stage's predicted share
    of the training FLOPs and its step seconds per GFLOP relative to the same seed's baseline
    (above 1: the stage's shapes run slower per FLOP); then the run's setup (data preparation,
    building) and test."""
    header = ["variant", "stage", "FLOP share", "time share", *(f"{c} s" for c in SPLIT_COLUMNS), "data wait",
              "step s/GFLOP vs baseline"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs:
        total_flops = sum(run.stage_gflops)
        total_s = run.wall_clock_s
        baseline = _baseline_of(run, runs)
        base_step_s = _step_seconds(baseline) if baseline else None
        base_s_per_gflop = (base_step_s / sum(baseline.stage_gflops)
                            if base_step_s and baseline.stage_gflops and sum(baseline.stage_gflops) else None)
        for record in run.time_split:
            stage = record["stage"]
            known = total_flops and stage < len(run.stage_gflops)
            flop_share = run.stage_gflops[stage] / total_flops if known else None
            trained = record["step_s"] + record["data_s"]
            relative = (record["step_s"] / run.stage_gflops[stage] / base_s_per_gflop
                        if known and run.stage_gflops[stage] and base_s_per_gflop else None)
            cells = [run.label, str(stage), _fmt(flop_share, "{:.0%}"),
                     _fmt(record["total_s"] / total_s if total_s else None, "{:.0%}"),
                     *(f"{record[f'{c}_s']:.1f}" for c in SPLIT_COLUMNS),
                     _fmt(record["data_s"] / trained if trained else None, "{:.0%}"), _fmt(relative, "{:.2f}")]
            lines.append("| " + " | ".join(cells) + " |")
        if run.run_time:
            outside = {name: run.run_time.get(f"{name}_s", 0.0) for name in ("data_prep", "setup", "test")}
            rest = total_s - sum(r["total_s"] for r in run.time_split) - sum(outside.values())
            note = ", ".join(f"{name} {value:.1f} s" for name, value in outside.items())
            cells = [run.label, "other", "", _fmt(1 - sum(r["total_s"] for r in run.time_split) / total_s
                                                 if total_s else None, "{:.0%}"),
                     f"{note}, start-up and exit {rest:.1f} s"] + [""] * (len(header) - 5)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def plot_curves(runs: Sequence[VariantRun], path: str, metric_name: str = "top-1") -> None:
    """Validation accuracy against wall-clock time for every run (the paper's Figure 1), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for run in runs:
        if run.val_curve:
            seconds, values = zip(*run.val_curve)
            axes.plot([s / 60.0 for s in seconds], values, marker="o", label=run.label)
    axes.set_xlabel("wall-clock (minutes)")
    axes.set_ylabel(f"validation {metric_name} (%)")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)

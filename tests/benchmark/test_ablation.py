"""The ablation runner: variant overrides, timestamped stats from a subprocess, table and plot."""
import json
import sys

import pytest

from slowfast.benchmark import ablation
from slowfast.benchmark.ablation import VariantRun


def test_variant_overrides_select_the_cycles_and_an_output_dir_each():
    assert ablation.variant_overrides("long_short", "/out") == [
        "MULTIGRID.LONG_CYCLE", "True", "MULTIGRID.SHORT_CYCLE", "True", "OUTPUT_DIR", "/out/long_short"]
    assert ablation.variant_overrides("baseline", "o")[:4] == [
        "MULTIGRID.LONG_CYCLE", "False", "MULTIGRID.SHORT_CYCLE", "False"]
    with pytest.raises(ValueError, match="unknown variant 'slow'"):
        ablation.variant_overrides("slow", "o")


@pytest.mark.slow
def test_run_variant_collects_the_val_curve_and_the_last_test_metric(tmp_path):
    script = (
        "print('[INFO] json_stats: {\"_type\": \"train_epoch\", \"loss\": 1.0}');"
        "print('[INFO] json_stats: {\"_type\": \"val_epoch\", \"top1_err\": 60.0, \"min_top1_err\": 60.0}');"
        "print('noise');"
        "print('[INFO] json_stats: {\"_type\": \"val_epoch\", \"top1_err\": 44.5, \"min_top1_err\": 44.5}');"
        "print('[INFO] json_stats: {\"split\": \"test_final\", \"top1_acc\": 60.25, \"top5_acc\": 90.0}')"
    )
    ticks = iter(range(100))
    run = ablation.run_variant([sys.executable, "-c", script], "baseline", str(tmp_path),
                               clock=lambda: float(next(ticks)))
    assert run.returncode == 0 and run.test_metric == 60.25
    assert run.val_curve == [(1.0, 40.0), (2.0, 55.5)] and run.wall_clock_s == 3.0
    assert run.peak_rss_mb > 0
    failed = ablation.run_variant([sys.executable, "-c", "print('error: too few clips'); raise SystemExit(3)"],
                                  "x", str(tmp_path))
    assert failed.returncode == 3 and failed.log_tail == ["error: too few clips"]


def test_metric_of_reads_pyslowfast_keys_and_a_plain_top1():
    assert ablation.metric_of({"_type": "val_epoch", "top1_err": 25.0, "top5_err": 5.0}) == 75.0
    assert ablation.metric_of({"split": "test_final", "top1_acc": 61.5, "top5_acc": 90.0}) == 61.5
    assert ablation.metric_of({"_type": "val_epoch", "top1": 40.0}) == 40.0  # neither PySlowFast key
    assert ablation.metric_of({"_type": "val_epoch", "map": 33.0}) == 33.0


def test_markdown_table_gives_speedups_over_the_baseline_and_the_plot_is_a_png(tmp_path):
    runs = [VariantRun("baseline", "b", 0, 100.0, 500.0, [(50.0, 40.0), (100.0, 60.0)], 61.0, 240, 1000.0),
            VariantRun("long_short", "l", 0, 40.0, 400.0, [(40.0, 62.0)], None, 300, 400.0)]
    table = ablation.markdown_table(runs).splitlines()
    assert table[2] == "| baseline | 100.0 | 1.00x | 240 | 1000 | 1.00x | 1.00 | - | - | 500 | 61.00 |"
    # 2.5x sooner for 2.5x fewer FLOPs: efficiency 1.
    assert table[3] == "| long_short | 40.0 | 2.50x | 300 | 400 | 2.50x | 1.00 | - | - | 400 | - |"
    ablation.plot_curves(runs, str(tmp_path / "curve.png"))
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _split(stage, step, data, val=0.0):
    return {"_type": "time_split", "stage": stage, "step_s": step, "data_s": data, "compile_s": 0.0,
            "val_s": val, "precise_bn_s": 0.0, "checkpoint_s": 0.0, "total_s": step + data + val}


@pytest.mark.slow
def test_run_variant_keeps_the_last_time_split_of_each_stage_and_the_run_time(tmp_path):
    lines = [{"_type": "time_split", "stage": 0, "step_s": 1.0}, {"_type": "time_split", "stage": 1, "step_s": 2.0},
             {"_type": "time_split", "stage": 0, "step_s": 3.0}, {"_type": "run_time", "setup_s": 4.0}]
    script = "; ".join(f"print('json_stats: ' + {json.dumps(json.dumps(line))})" for line in lines)
    run = ablation.run_variant([sys.executable, "-c", script], "x", str(tmp_path))
    assert [(r["stage"], r["step_s"]) for r in run.time_split] == [(0, 3.0), (1, 2.0)]
    assert run.run_time == {"_type": "run_time", "setup_s": 4.0}


def test_time_split_table_puts_each_stage_next_to_its_flop_share():
    run = VariantRun("long_short", "l", 0, 100.0, 400.0, time_split=[_split(0, 20.0, 20.0, 5.0), _split(1, 40.0, 5.0)],
                     run_time={"data_prep_s": 0.5, "setup_s": 2.0, "train_s": 90.0, "test_s": 6.0},
                     stage_gflops=[100.0, 300.0])
    rows = ablation.time_split_table([run]).splitlines()
    assert rows[0].startswith("| variant | stage | FLOP share | time share | step s | data s | compile s |")
    assert rows[2] == "| long_short | 0 | 25% | 45% | 20.0 | 20.0 | 0.0 | 5.0 | 0.0 | 0.0 | 50% | - |"
    assert rows[3] == "| long_short | 1 | 75% | 45% | 40.0 | 5.0 | 0.0 | 0.0 | 0.0 | 0.0 | 11% | - |"
    assert rows[4].startswith("| long_short | other |  | 10% | data_prep 0.5 s, setup 2.0 s, test 6.0 s, "
                              "start-up and exit 1.5 s |")
    assert ablation.markdown_table([run]).splitlines()[2].split(" | ")[8] == "50%"  # the worst stage's data wait


def test_step_efficiency_and_each_stage_s_per_gflop_are_against_the_same_seed_baseline():
    baseline = VariantRun("baseline", "b", 0, 130.0, 1.0, train_gflops=1000.0, time_split=[_split(0, 100.0, 10.0)],
                          stage_gflops=[1000.0])
    # The baseline steps at 0.1 s per GFLOP; the stages at 20 s and 40 s for 250 GFLOPs each.
    run = VariantRun("long_short", "l", 0, 80.0, 1.0, train_gflops=500.0,
                     time_split=[_split(0, 20.0, 1.0), _split(1, 40.0, 1.0)], stage_gflops=[250.0, 250.0])
    cells = ablation.markdown_table([baseline, run]).splitlines()[3].split(" | ")
    # 1.62x sooner for 2x fewer FLOPs: efficiency 0.81; steps 100 s against 60 s: 1.67x, 0.83.
    assert cells[2:8] == ["1.62x", "-", "500", "2.00x", "0.81", "0.83"]
    rows = ablation.time_split_table([baseline, run]).splitlines()
    assert rows[2].endswith("| 9% | 1.00 |")
    assert rows[3].endswith("| 5% | 0.80 |") and rows[4].endswith("| 2% | 1.60 |")


def test_seeds_table_gives_means_spreads_and_the_standard_error_of_each_difference():
    def run(name, seed, seconds, metric):
        return VariantRun(name, name, 0, seconds, 1.0, test_metric=metric, seed=seed, test_videos=400)

    runs = [run("baseline", 0, 100.0, 90.0), run("long_short", 0, 40.0, 91.0),
            run("baseline", 1, 110.0, 92.0), run("long_short", 1, 50.0, 95.0)]
    rows = ablation.seeds_table(runs).splitlines()
    assert rows[2] == "| baseline | 2 | 105.0 | 1.00x | 91.00 | 1.41 | - | - | - |"
    # Difference 93 - 91 = +2; SE from the seeds sqrt(8/2 + 2/2) = 2.24; from 400 test videos per
    # run, sqrt(sum of p(1-p)/400 over 91%, 95% / 4 + over 90%, 92% / 4) = 1.35 points.
    assert rows[3] == "| long_short | 2 | 45.0 | 2.33x | 93.00 | 2.83 | +2.00 | 2.24 | 1.35 |"
    table = ablation.markdown_table(runs).splitlines()
    assert table[3].startswith("| long_short (seed 0) | 40.0 | 2.50x |")  # against the seed-0 baseline
    assert table[5].startswith("| long_short (seed 1) | 50.0 | 2.20x |")

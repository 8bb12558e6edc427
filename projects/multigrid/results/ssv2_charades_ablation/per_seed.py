"""Per-seed differences (long + short minus baseline) of a reproduce.py ablation.json.

python projects/multigrid/results/ssv2_charades_ablation/per_seed.py FILE
"""
import json
import statistics
import sys

data = json.load(open(sys.argv[1]))
runs = {(run["name"], run["seed"]): run for run in data["runs"]}
seeds = sorted({seed for _, seed in runs})
print("names", sorted({name for name, _ in runs}), "seeds", seeds)
diffs, speedups = [], []
for seed in seeds:
    base, multigrid = runs[("baseline", seed)], runs[("long_short", seed)]
    diffs.append(multigrid["test_metric"] - base["test_metric"])
    speedups.append(base["wall_clock_s"] / multigrid["wall_clock_s"])
    print(f"seed {seed}: baseline {base['test_metric']:.2f} ({base['wall_clock_s']:.1f} s), long+short "
          f"{multigrid['test_metric']:.2f} ({multigrid['wall_clock_s']:.1f} s), diff {diffs[-1]:+.2f}, "
          f"{speedups[-1]:.2f}x")
print("diffs median", statistics.median(diffs), "mean", statistics.mean(diffs))
worst = min(range(len(diffs)), key=lambda i: diffs[i])
rest = [diff for i, diff in enumerate(diffs) if i != worst]
print("without the lowest-difference seed", seeds[worst], "mean", statistics.mean(rest), "paired SE",
      statistics.stdev(rest) / len(rest) ** 0.5 if len(rest) > 1 else None)
print("paired SE all", statistics.stdev(diffs) / len(diffs) ** 0.5)

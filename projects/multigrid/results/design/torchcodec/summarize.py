"""Summary of bench_raw.csv: median CPU s/clip per method, and medians of per-trial ratios with bootstrap 95% CIs."""
import csv
import sys
from collections import defaultdict

import numpy as np

path = sys.argv[1] if len(sys.argv) > 1 else "bench_raw.csv"
data = defaultdict(dict)  # (set, shape, group) -> trial -> method -> (cpu, wall, shape)
for row in csv.DictReader(open(path)):
    data[(row["set"], row["shape"], row["group"])].setdefault(int(row["trial"]), {})[row["method"]] = (
        float(row["cpu_s"]), float(row["wall_s"]), row["out_shape"])

rng = np.random.default_rng(0)


def ci(values):
    values = np.asarray(values)
    boots = np.median(rng.choice(values, size=(2000, len(values))), axis=1)
    return np.percentile(boots, 2.5), np.percentile(boots, 97.5)


print("CPU seconds per clip (median over trials; time.process_time), and per-trial ratios vs the PyAV reference")
print("ratio < 1: torchcodec uses less CPU. [..] = bootstrap 95% CI of the median ratio. wall = median wall s/clip.")
for key, trials in data.items():
    methods = list(next(iter(trials.values())))
    ordered = sorted(methods, key=lambda m: (not m.startswith("pyav"), m))
    out_shape = next(iter(trials.values()))[ordered[0]][2]
    print(f"\n== set {key[0]}  clip {key[1]}  {key[2]}  (output {out_shape}, {len(trials)} trials)")
    refs = [m for m in ordered if m.startswith("pyav")]
    for m in ordered:
        cpu = np.array([t[m][0] for t in trials.values()])
        wall = np.array([t[m][1] for t in trials.values()])
        line = f"  {m:18s} cpu {np.median(cpu) * 1000:8.2f} ms  (p25 {np.percentile(cpu, 25) * 1000:7.2f}, p75 {np.percentile(cpu, 75) * 1000:7.2f})  wall {np.median(wall) * 1000:8.2f} ms"
        if not m.startswith("pyav"):
            for ref in refs:
                r = np.array([t[m][0] / t[ref][0] for t in trials.values()])
                lo, hi = ci(r)
                line += f" | /{ref}: {np.median(r):.3f} [{lo:.3f},{hi:.3f}]"
        print(line)

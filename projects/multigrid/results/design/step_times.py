"""Median logged step time per clip shape of each ablation run, relative to the same seed's
baseline step per GFLOP (GFLOPs per step from results/design/cpu_model_r18_new_machine.txt).

python projects/multigrid/results/design/step_times.py extract output/measure_ablation 2 7
    writes step_times.json here: every run's train_iter (dt, dt_data) by shape
python projects/multigrid/results/design/step_times.py
    prints the table from step_times.json
"""
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = os.path.join(HERE, "step_times.json")
VARIANTS = ("baseline", "long_short", "long_cycle")
GFLOPS_PER_STEP = {"4x24": .3657, "4x34": .4774, "8x24": .3656, "8x34": .4774, "8x48": .3283,
                   "16x24": .3656, "16x34": .4774, "16x48": .3283}


def extract(folder: str, first: int, last: int) -> None:
    runs = {}
    for seed in range(first, last + 1):
        for variant in VARIANTS:
            path = os.path.join(folder, f"{variant}_seed{seed}", "metrics.jsonl")
            if not os.path.isfile(path):
                continue
            by_shape: dict[str, list] = {}
            with open(path) as handle:
                for record in map(json.loads, handle):
                    if record.get("_type") == "train_iter":
                        shape = record["shape"].split("x", 1)[1]  # drop the batch
                        by_shape.setdefault(shape, []).append([record["dt"], record["dt_data"]])
            runs[f"{variant}_seed{seed}"] = by_shape
    with open(RECORDS, "w") as handle:
        json.dump(runs, handle)


def table() -> None:
    with open(RECORDS) as handle:
        runs = json.load(handle)
    seeds = sorted({int(name.rsplit("seed", 1)[1]) for name in runs})
    for seed in seeds:
        baseline = statistics.median(dt for dt, _ in runs[f"baseline_seed{seed}"]["16x48"]) / GFLOPS_PER_STEP["16x48"]
        for variant in VARIANTS:
            shapes = runs.get(f"{variant}_seed{seed}")
            if shapes is None:
                continue
            cells = []
            for shape in sorted(shapes, key=lambda name: -GFLOPS_PER_STEP[name]):
                dt = statistics.median(d for d, _ in shapes[shape])
                wait = statistics.median(w for _, w in shapes[shape])
                cells.append(f"{shape} {dt * 1000:.0f} ms ({dt / GFLOPS_PER_STEP[shape] / baseline:.2f}x, "
                             f"wait {wait * 1000:.1f} ms, {len(shapes[shape])} records)")
            print(f"seed {seed} {variant}: " + "; ".join(cells))


if __name__ == "__main__":
    if sys.argv[1:2] == ["extract"]:
        extract(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    table()

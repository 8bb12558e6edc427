"""The declared rule of README.md applied to the JSONs of measure_loader.sh (run from the repo root)."""
import json
import sys

folder = sys.argv[1] if len(sys.argv) > 1 else "projects/multigrid/results/loader"
rounds = (1, 2)
passing = []
for interval in (8, 16, 32):
    ok = True
    for r in rounds:
        report = json.load(open(f"{folder}/prepared_g{interval}_r{r}.json"))
        downloaded = json.load(open(f"{folder}/downloaded_r{r}.json"))
        full = {row["shape"]: row for row in downloaded["shape_costs"]}
        for row in report["shape_costs"]:
            margin = row["cost_vs_reference"] / row["target"]
            if margin > 0.9:
                ok = False
            print(f"g{interval} r{r} {row['shape']:12} cost {row['cost_vs_reference']:.3f} target {row['target']:.3f}"
                  f" cost/target {margin:.2f}{'' if margin <= 0.9 else '  over 0.9'}")
        last = report["shape_costs"][-1]
        if last["cpu_s_per_clip"] > full[last["shape"]]["cpu_s_per_clip"]:
            ok = False
            print(f"g{interval} r{r}: full shape costs more than on the downloaded videos")
    node = json.load(open(f"{folder}/gpu_node_prepared_g{interval}_r1.json"))["gpu_node"]
    print(f"g{interval}: 16 cores per GPU, efficiency {node['efficiency']:.3f}, "
          f"loader-bound {node['loader_bound_stages']}")
    if node["efficiency"] < 0.9 or node["loader_bound_stages"]:
        ok = False
    print(f"g{interval}: {'passes' if ok else 'fails'}")
    if ok:
        passing.append(interval)
print(f"default keyframe interval by the rule: {max(passing) if passing else 'none passes'}")

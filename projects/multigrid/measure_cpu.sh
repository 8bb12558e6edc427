#!/usr/bin/env bash
# The CPU measurements behind projects/multigrid/README.md and README.md, in one run with nothing
# else on the machine. Raw outputs go to projects/multigrid/results/ (RESULTS to change).
#   1. SlowFast 8x8 R50 per-shape seconds per GFLOP and BN layers grouped vs plain (64-device
#      batches: 1 clip at 32x224, as many FLOPs at every other shape), 5 interleaved rounds.
#   2. The README's main command and its baseline twin (dataset generated before either clock).
#   3. The ablation: baseline, long cycle, long + short (VARIANTS to change).
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULTS=${RESULTS:-projects/multigrid/results}
VARIANTS=${VARIANTS:-baseline,long_cycle,long_short}
mkdir -p "$RESULTS"
export PYTHONUNBUFFERED=1

python tools/benchmark.py model --cfg configs/Kinetics/SLOWFAST_8x8_R50_MG.yaml --device cpu --bn \
  --num-steps 5 --save "$RESULTS/cpu_model_r50.json" NUM_SHARDS 8 2>/dev/null | tee "$RESULTS/cpu_model_r50.txt"

python -c "from slowfast.config import load_config; from slowfast.datasets.build import ensure_synthetic_data; \
ensure_synthetic_data(load_config('configs/Synthetic/SLOWFAST_R18.yaml', []))"
for cfg in SLOWFAST_R18_MG SLOWFAST_R18; do
  out=output/measure_$cfg
  rm -rf "$out"
  start=$(date +%s.%N)
  python tools/run_net.py --cfg configs/Synthetic/$cfg.yaml OUTPUT_DIR "$out" > /dev/null 2>&1
  end=$(date +%s.%N)
  grep -h "json_stats" "$out/stdout.log" | sed 's/.*json_stats: //' > "$RESULTS/demo_$cfg.jsonl"
  grep -A12 "seconds per multigrid stage" "$out/stdout.log" | sed 's/^\[[^]]*\]\[[^]]*\] [a-z_]*:[0-9]*: //' \
    > "$RESULTS/demo_${cfg}_time_split.txt" || true
  echo "{\"config\": \"configs/Synthetic/$cfg.yaml\", \"wall_clock_s\": $(echo "$end - $start" | bc)}" \
    > "$RESULTS/demo_${cfg}_wall_clock.json"
  cat "$RESULTS/demo_${cfg}_wall_clock.json"
done

python projects/multigrid/reproduce.py --cfg configs/Synthetic/SLOWFAST_R18_ABLATION.yaml \
  --variants "$VARIANTS" --rerun --output-dir output/measure_ablation
cp output/measure_ablation/ablation.md "$RESULTS/synthetic_ablation.md"
cp output/measure_ablation/ablation.json "$RESULTS/synthetic_ablation.json"
cp output/measure_ablation/val_vs_wallclock.png "$RESULTS/synthetic_ablation.png"

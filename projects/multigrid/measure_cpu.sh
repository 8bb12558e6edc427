#!/usr/bin/env bash
# The CPU measurements behind projects/multigrid/README.md and README.md, in one run with nothing
# else on the machine. Raw outputs go to projects/multigrid/results/ (RESULTS to change).
#   1. The bundled synthetic dataset generated, timed (the README's main command does this first).
#   2. The ablation on the README's main config: baseline twin and long + short, seeds
#      FIRST_SEED .. FIRST_SEED + SEEDS - 1 (2-7, as published; variants interleaved seed by seed;
#      VARIANTS, SEEDS and FIRST_SEED to change; about 110 minutes), and the schedule plot.
#   3. SlowFast 8x8 R50 per-shape seconds per GFLOP and BN layers grouped vs plain (64-device
#      batches: 1 clip at 32x224, as many FLOPs at every other shape), 7 interleaved rounds.
#   4. The README's main command as a new user runs it: dataset generation and the decoded-frame
#      store included (into folders of their own), timed from start to exit.
#   5. The loader per clip shape on Kinetics-like files, ours and the simplest loader in one run.
# STEPS="1 2 3" runs a subset.
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULTS=${RESULTS:-projects/multigrid/results}
VARIANTS=${VARIANTS:-baseline,long_short}
SEEDS=${SEEDS:-6}
FIRST_SEED=${FIRST_SEED:-2}
STEPS=${STEPS:-1 2 3 4 5}
CFG=configs/Synthetic/SLOWFAST_R18_MG.yaml
mkdir -p "$RESULTS"
export PYTHONUNBUFFERED=1
step() { [[ " $STEPS " == *" $1 "* ]]; }

if step 1; then
  data_dir=$(python -c "from slowfast.config import load_config; print(load_config('$CFG', []).DATA.PATH_TO_DATA_DIR)")
  rm -rf "$data_dir"
  start=$(date +%s.%N)
  python -c "from slowfast.config import load_config; from slowfast.datasets.build import ensure_synthetic_data; \
ensure_synthetic_data(load_config('$CFG', []))"
  end=$(date +%s.%N)
  echo "{\"config\": \"$CFG\", \"data_dir\": \"$data_dir\", \"generation_s\": $(echo "$end - $start" | bc)}" \
    | tee "$RESULTS/synthetic_generation.json"
fi

if step 2; then
  python projects/multigrid/reproduce.py --cfg "$CFG" --variants "$VARIANTS" --seeds "$SEEDS" \
    --first-seed "$FIRST_SEED" --rerun --output-dir output/measure_ablation TEST.SAVE_RESULTS_PATH preds.pyth
  cp output/measure_ablation/ablation.md "$RESULTS/synthetic_ablation.md"
  cp output/measure_ablation/ablation.json "$RESULTS/synthetic_ablation.json"
  cp output/measure_ablation/val_vs_wallclock.png "$RESULTS/synthetic_ablation.png"
  python tools/show_schedule.py --cfg "$CFG" --num-clips 1600 --plot "$RESULTS/synthetic_schedule.png" > "$RESULTS/synthetic_schedule.txt"
fi

if step 3; then
  python tools/benchmark.py model --cfg configs/Kinetics/SLOWFAST_8x8_R50_MG.yaml --device cpu --bn \
    --num-steps 7 --save "$RESULTS/cpu_model_r50.json" NUM_SHARDS 8 2>/dev/null | tee "$RESULTS/cpu_model_r50.txt"
fi

if step 4; then
  main_out=output/measure_main_command
  rm -rf "$main_out" output/measure_main_data output/measure_main_decoded
  start=$(date +%s.%N)
  python tools/run_net.py --cfg "$CFG" DATA.PATH_TO_DATA_DIR output/measure_main_data \
    DATA.DECODED_CACHE_DIR output/measure_main_decoded OUTPUT_DIR "$main_out" > /dev/null 2>&1
  end=$(date +%s.%N)
  grep -h "json_stats" "$main_out/stdout.log" | sed 's/.*json_stats: //' > "$RESULTS/main_command.jsonl"
  echo "{\"command\": \"python tools/run_net.py --cfg $CFG\", \"wall_clock_s\": $(echo "$end - $start" | bc)}" \
    | tee "$RESULTS/main_command_wall_clock.json"
fi

if step 5; then
  python tools/benchmark.py data --cfg configs/Kinetics/SLOWFAST_8x8_R50_MG.yaml \
    --write-kinetics-like output/measure_kinetics_like --workers 0,2 --batch-size 8 \
    --save "$RESULTS/cpu_loader.json" 2>/dev/null | tee "$RESULTS/cpu_loader.txt"
fi

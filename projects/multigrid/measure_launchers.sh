#!/usr/bin/env bash
# Issue #26 item 6: seconds per training iteration of the same 2-process CPU job started by
# torchrun and by tools/submit_slurm.py --local (submitit), rounds interleaved, nothing else
# running. Raw output: projects/multigrid/results/launchers/ (each run's metrics.jsonl and the
# table of median dt per epoch).
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULTS=${RESULTS:-projects/multigrid/results/launchers}
ROUNDS=${ROUNDS:-2}
CFG=configs/Synthetic/SLOWFAST_R18_MG.yaml
COMMON=(SOLVER.MAX_EPOCH 2 SOLVER.STEPS "[0, 1]" SOLVER.WARMUP_EPOCHS 0.0 TEST.ENABLE False
        TRAIN.EVAL_PERIOD 100 TRAIN.CHECKPOINT_PERIOD 100 TRAIN.AUTO_RESUME False)
mkdir -p "$RESULTS"
unset OMP_NUM_THREADS
for r in $(seq 1 "$ROUNDS"); do
  out=output/launchers/torchrun_r$r; rm -rf "$out"
  torchrun --nproc_per_node 2 tools/run_net.py --cfg "$CFG" NUM_GPUS 0 OUTPUT_DIR "$out" "${COMMON[@]}" \
    > "$RESULTS/torchrun_r$r.log" 2>&1
  cp "$out/metrics.jsonl" "$RESULTS/torchrun_r$r.jsonl"
  out=output/launchers/submitit_r$r; rm -rf "$out"
  python tools/submit_slurm.py --cfg "$CFG" --local --gpus-per-node 0 --tasks-per-node 2 --time 1 --wait \
    OUTPUT_DIR "$out" "${COMMON[@]}" > "$RESULTS/submitit_r$r.log" 2>&1
  cp "$out/metrics.jsonl" "$RESULTS/submitit_r$r.jsonl"
done
python - "$RESULTS" <<'PY' | tee "$RESULTS/table.txt"
import glob, json, os, statistics, sys
folder = sys.argv[1]
print("run           epochs  dt per epoch (s/iteration)          median after the first epoch")
for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
    epochs = [json.loads(line) for line in open(path) if '"train_epoch"' in line]
    dts = [record["dt"] for record in epochs]
    print(f"{os.path.basename(path):13} {len(dts):6}  {' '.join(f'{dt:.3f}' for dt in dts):34}  "
          f"{statistics.median(dts[1:] or dts):.3f}")
PY

#!/usr/bin/env bash
# The diagnosis runs of README.md (seeds already seen; they choose a fix, they do not confirm it).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
out=output/charades_diag
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants long_short --output-dir $out/c1_values MULTIGRID.BN_GROUPING values TEST.SAVE_RESULTS_PATH preds.pyth
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants long_cycle,short_cycle --output-dir $out/c23_cycles TEST.SAVE_RESULTS_PATH preds.pyth
python projects/multigrid/reproduce.py --cfg configs/Synthetic/SSV2_SLOWFAST_R18_MG.yaml \
    --variants long_short --first-seed 2 --seeds 1 --output-dir $out/s1_values MULTIGRID.BN_GROUPING values
# Added after C1 (values: 78.42 against 73.48, growing/shrinking still 20 points below the
# baseline): is it the share of the frame a small crop sees (C4), or the x8 LR (C5)?
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants long_short --output-dir $out/c4_values_min_max MULTIGRID.BN_GROUPING values \
    MULTIGRID.JITTER_SCALING min_max TEST.SAVE_RESULTS_PATH preds.pyth
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants long_short --output-dir $out/c5_values_half_lr MULTIGRID.BN_GROUPING values \
    SOLVER.BASE_LR 0.05 SOLVER.WARMUP_START_LR 0.005 TEST.SAVE_RESULTS_PATH preds.pyth

#!/usr/bin/env bash
# The diagnosis runs of README.md (seeds already seen; they choose a fix, they do not confirm it).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
out=output/charades_diag
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants long_short --output-dir $out/c1_values MULTIGRID.BN_GROUPING values TEST.SAVE_RESULTS_PATH preds.pyth
# C2/C3 (long cycle only, short cycle only, BN groups of 8 clips) were started and stopped
# unfinished once C1 showed the clips grouping to be half the loss: which cycle suffers under a
# grouping the configs drop tells nothing about the fix.
# Added after C1 (values: 78.42 against 73.48, growing/shrinking still 20 points below the
# baseline): is it the share of the frame a small crop sees (C4), or the x8 LR (C5)?
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants long_short --output-dir $out/c4_values_min_max MULTIGRID.BN_GROUPING values \
    MULTIGRID.JITTER_SCALING min_max TEST.SAVE_RESULTS_PATH preds.pyth
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants long_short --output-dir $out/c5_values_half_lr MULTIGRID.BN_GROUPING values \
    SOLVER.BASE_LR 0.05 SOLVER.WARMUP_START_LR 0.005 TEST.SAVE_RESULTS_PATH preds.pyth
# C5 was stopped after its epoch-45 evaluation (53.5 validation mAP against C1's 79.3 there).
python projects/multigrid/reproduce.py --cfg configs/Synthetic/SSV2_SLOWFAST_R18_MG.yaml \
    --variants long_short --first-seed 2 --seeds 1 --output-dir $out/s1_values MULTIGRID.BN_GROUPING values
# Added after C4 (min_max: no better than C1): the whole long + short run makes 504 SGD steps
# (stage 0: 4 per epoch), the baseline 1,920; the Kinetics layout, where multigrid keeps up,
# makes 3,660 against 12,800. C6: both variants at half the batch (4 clips, LR halved by the
# linear rule, BN over 4 clips at the full shape as on the Kinetics layout).
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants baseline,long_short --output-dir $out/c6_batch4 MULTIGRID.BN_GROUPING values \
    TRAIN.BATCH_SIZE 4 MULTIGRID.BN_BASE_SIZE 4 SOLVER.BASE_LR 0.05 SOLVER.WARMUP_START_LR 0.005 TEST.SAVE_RESULTS_PATH preds.pyth

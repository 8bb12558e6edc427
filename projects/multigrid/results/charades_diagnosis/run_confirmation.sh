#!/usr/bin/env bash
# The confirmation and pre-training runs declared in README.md, one after the other.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
python projects/multigrid/reproduce.py --cfg configs/Synthetic/SSV2_SLOWFAST_R18_MG.yaml \
    --variants baseline,long_short --first-seed 3 --seeds 3 --output-dir output/ssv2_confirm
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants baseline,long_short --first-seed 3 --seeds 3 --output-dir output/charades_confirm \
    TEST.SAVE_RESULTS_PATH preds.pyth
/usr/bin/time -f "%e s wall clock" python tools/run_net.py --cfg configs/Synthetic/SLOWFAST_R18_MG.yaml
python projects/multigrid/reproduce.py --cfg configs/Synthetic/CHARADES_SLOWFAST_R18_MG.yaml \
    --variants baseline,long_short --first-seed 3 --seeds 3 --output-dir output/charades_pretrained \
    TRAIN.CHECKPOINT_FILE_PATH output/synthetic_slowfast_r18_mg/checkpoints/checkpoint_epoch_00048.pyth \
    TRAIN.CHECKPOINT_REINIT_HEAD True TEST.SAVE_RESULTS_PATH preds.pyth

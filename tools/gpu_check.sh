#!/usr/bin/env bash
# GPU check of the training path, run from the repository root on a machine with one GPU:
#   bash tools/gpu_check.sh OUT_DIR
# 1. host syncs of a multigrid run on CUDA (fp32, then bf16 + channels_last_3d);
# 2. a full run_net train + test on CUDA with bf16 and channels_last_3d;
# 3. forward+backward step time and peak memory of SlowFast 8x8 R50 at three shapes of its
#    multigrid schedule (first stage's smallest crop, a middle one, the full shape) at the
#    schedule's per-GPU batch, fp32 vs bf16, contiguous vs channels_last_3d; each row is printed
#    (stderr) as soon as it is measured. All 8 shapes x 4 variants take over 4 minutes on an H200;
# 4. the same model's BN layers alone, grouped (as trained) against plain BatchNorm3d, at the
#    8-GPU schedule's per-device batches (NUM_SHARDS 8), bf16 + channels_last_3d;
# 5. the multigrid ablation (baseline twin against long + short) on the README's synthetic
#    config on the GPU, whole runs, with the measured speedup against the FLOP ratio.
# Each part has its own time limit, so one failing part does not hide the others' results.
set -uo pipefail
OUT_DIR=${1:-gpu_check}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(), 'cudnn', torch.backends.cudnn.version())"

# A short schedule on a small dataset (320 training videos, batch 8).
SMALL_MG=(--cfg configs/Synthetic/SLOWFAST_R18_MG.yaml SOLVER.MAX_EPOCH 6 SOLVER.STEPS "[0,4,5]"
          SYNTHETIC.CLIPS_PER_CLASS 40 SYNTHETIC.TEST_CLIPS_PER_CLASS 0 TRAIN.BATCH_SIZE 8
          DATA.PATH_TO_DATA_DIR "$OUT_DIR/data" DATA_LOADER.NUM_WORKERS 8 DATA_LOADER.PIN_MEMORY True)

# The tool logs the training on stdout; its report starts at the "training iterations" line.
count_syncs() {
    local name=$1; shift
    echo "== 1. host syncs, $name"
    timeout 130 python3 tools/count_host_syncs.py "${SMALL_MG[@]}" OUTPUT_DIR "$OUT_DIR/syncs_$name" "$@" \
        >"$OUT_DIR/syncs_$name.log" 2>&1
    echo "rc=$?"
    sed -n '/training iterations on/,$p' "$OUT_DIR/syncs_$name.log"
    grep -E "Error|error:" "$OUT_DIR/syncs_$name.log" | tail -3
}
count_syncs fp32
count_syncs bf16_channels_last TRAIN.MIXED_PRECISION True TRAIN.CHANNELS_LAST True

echo "== 2. run_net train + test, bf16 + channels_last_3d"
start=$(date +%s)
timeout 100 python3 tools/run_net.py "${SMALL_MG[@]}" NUM_GPUS 1 OUTPUT_DIR "$OUT_DIR/run_bf16_cl" \
    TRAIN.MIXED_PRECISION True TRAIN.CHANNELS_LAST True >"$OUT_DIR/run_net.log" 2>&1
echo "rc=$? in $(( $(date +%s) - start )) s"
grep -E "running on|test_final|val_epoch|Error|error:" "$OUT_DIR/run_net.log" | tail -5 | cut -c1-300

echo "== 3. SlowFast 8x8 R50 step time per multigrid shape"
timeout 300 python3 tools/benchmark.py model --cfg configs/Kinetics/SLOWFAST_8x8_R50_MG.yaml --device cuda \
    --shapes 8x112,16x158,32x224 --num-steps 3 --precisions fp32,bf16 --memory-formats contiguous,channels_last_3d \
    --save "$OUT_DIR/model_sf8x8_r50.json"
echo "rc=$?"

echo "== 4. SlowFast 8x8 R50 BN layers, grouped vs plain"
timeout 150 python3 tools/benchmark.py model --cfg configs/Kinetics/SLOWFAST_8x8_R50_MG.yaml --device cuda --bn \
    --shapes 8x112,16x158,16x224,32x224 --num-steps 5 --precisions bf16 --memory-formats channels_last_3d \
    --save "$OUT_DIR/bn_sf8x8_r50.json" NUM_SHARDS 8
echo "rc=$?"

echo "== 5. ablation on the GPU: baseline vs long + short"
timeout 420 python3 projects/multigrid/reproduce.py --cfg configs/Synthetic/SLOWFAST_R18_MG.yaml \
    --variants baseline,long_short --output-dir "$OUT_DIR/ablation" NUM_GPUS 1 \
    DATA.PATH_TO_DATA_DIR "$OUT_DIR/data_full" DATA_LOADER.NUM_WORKERS 8 DATA_LOADER.PIN_MEMORY True \
    >"$OUT_DIR/ablation.log" 2>&1
echo "rc=$?"
tail -30 "$OUT_DIR/ablation.log"

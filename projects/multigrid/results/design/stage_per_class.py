"""Per-class test top-1 of every checkpoint of ablation runs, to see at which stage a class is
learned (or not): each checkpoint is tested on the test split at the config's test shape.

python projects/multigrid/results/design/stage_per_class.py OUT_DIR [--epochs 8,12,...] RUN_DIR [RUN_DIR ...]
"""
import os
import subprocess
import sys

from per_class import per_class, summary

out_dir, run_dirs = sys.argv[1], sys.argv[2:]
wanted = None
if run_dirs[0] == "--epochs":
    wanted, run_dirs = {int(e) for e in run_dirs[1].split(",")}, run_dirs[2:]
for run_dir in run_dirs:
    run = os.path.basename(os.path.normpath(run_dir))
    checkpoints = sorted(os.listdir(os.path.join(run_dir, "checkpoints")))
    for checkpoint in checkpoints:
        epoch = int(checkpoint.split("_")[-1].split(".")[0])
        if wanted is not None and epoch not in wanted:
            continue
        scratch = os.path.join(out_dir, f"{run}_e{epoch}")
        preds = os.path.join(scratch, "preds.pyth")
        if not os.path.exists(preds):
            subprocess.run(
                [sys.executable, "tools/run_net.py", "--cfg", os.path.join(run_dir, "config.yaml"),
                 "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", os.path.join(run_dir, "checkpoints", checkpoint),
                 "TEST.SAVE_RESULTS_PATH", "preds.pyth", "OUTPUT_DIR", scratch],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        overall, accuracies, _ = per_class(preds)
        print(summary(f"{run} epoch {epoch}", overall, accuracies), flush=True)

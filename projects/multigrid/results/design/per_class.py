"""Per-class test top-1 and confusion matrix from the predictions a test run saved
(TEST.SAVE_RESULTS_PATH); classes in the synthetic generator's order.

python projects/multigrid/results/design/per_class.py NAME=PREDS.pyth [NAME=PREDS.pyth ...]
"""
import sys

import torch

NAMES = ["left", "right", "up", "down", "grow", "shrink", "cw", "ccw"]

for argument in sys.argv[1:]:
    name, path = argument.split("=", 1)
    saved = torch.load(path)
    predicted, labels = saved["scores"].argmax(1), saved["labels"]
    per_class = [(predicted[labels == c] == c).float().mean().item() * 100 for c in range(len(NAMES))]
    overall = (predicted == labels).float().mean().item() * 100
    print(name, f"{overall:.2f}", " ".join(f"{n}:{a:.0f}" for n, a in zip(NAMES, per_class)))
    confusion = torch.zeros(len(NAMES), len(NAMES), dtype=torch.long)
    for p, label in zip(predicted.tolist(), labels.tolist()):
        confusion[label, p] += 1
    print(confusion)

"""Per-class test top-1 and confusion matrix from the predictions a test run saved
(TEST.SAVE_RESULTS_PATH); classes in the synthetic generator's order.

python projects/multigrid/results/design/per_class.py NAME=PREDS.pyth [NAME=PREDS.pyth ...]
"""
import sys

import torch

NAMES = ["left", "right", "up", "down", "grow", "shrink", "cw", "ccw"]


def per_class(path: str) -> tuple[float, list[float], torch.Tensor]:
    """Overall top-1, top-1 of each class (percent) and the confusion matrix (rows: true class)."""
    saved = torch.load(path)
    predicted, labels = saved["scores"].argmax(1), saved["labels"]
    accuracies = [(predicted[labels == c] == c).float().mean().item() * 100 for c in range(len(NAMES))]
    overall = (predicted == labels).float().mean().item() * 100
    confusion = torch.zeros(len(NAMES), len(NAMES), dtype=torch.long)
    for p, label in zip(predicted.tolist(), labels.tolist()):
        confusion[label, p] += 1
    return overall, accuracies, confusion


def summary(name: str, overall: float, accuracies: list[float]) -> str:
    return " ".join([name, f"{overall:.2f}"] + [f"{n}:{a:.0f}" for n, a in zip(NAMES, accuracies)])


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        name, path = argument.split("=", 1)
        overall, accuracies, confusion = per_class(path)
        print(summary(name, overall, accuracies))
        print(confusion)

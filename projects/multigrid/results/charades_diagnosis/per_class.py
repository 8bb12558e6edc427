"""Per-class average precision of saved test results (TEST.SAVE_RESULTS_PATH files).

python projects/multigrid/results/charades_diagnosis/per_class.py NAME=FILE [NAME=FILE ...]
"""
import sys

import numpy as np
import torch

from slowfast.datasets.synthetic.render import class_names


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = positives[order]
    precision_at_hits = np.cumsum(hits)[hits > 0] / (np.flatnonzero(hits) + 1)
    return float(precision_at_hits.mean()) if hits.any() else float("nan")


def per_class_ap(path: str) -> np.ndarray:
    state = torch.load(path, map_location="cpu")
    scores, labels = state["scores"].numpy(), state["labels"].numpy() > 0
    return np.array([average_precision(scores[:, k], labels[:, k]) for k in range(scores.shape[1])])


def main(pairs: list[str]) -> None:
    runs = [pair.split("=", 1) for pair in pairs]
    table = {name: per_class_ap(path) for name, path in runs}
    names = class_names(len(next(iter(table.values()))))
    print("class".ljust(28) + "".join(name.rjust(16) for name in table))
    for k, class_name in enumerate(names):
        print(class_name.ljust(28) + "".join(f"{100 * aps[k]:16.1f}" for aps in table.values()))
    print("mean (mAP)".ljust(28) + "".join(f"{100 * np.nanmean(aps):16.2f}" for aps in table.values()))


if __name__ == "__main__":
    main(sys.argv[1:])

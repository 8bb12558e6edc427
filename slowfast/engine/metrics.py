"""Classification metrics: top-k hits, mean average precision, and the multi-view test ensemble."""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)

FAILED_LABEL = -1


def topk_correct(
    logits: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)
) -> list[int]:
    """Number of rows whose label is among the k highest scores, for each k (k clipped to K)."""
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"expected logits [N, K] and labels [N], got {tuple(logits.shape)} "
                         f"and {tuple(labels.shape)}")
    num_classes = logits.shape[1]
    clipped = [min(k, num_classes) for k in ks]
    top = logits.topk(max(clipped), dim=1).indices
    hits = top == labels.to(top.device).view(-1, 1)
    return [int(hits[:, :k].any(dim=1).sum().item()) for k in clipped]


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """One class's AP as sklearn computes it: sum of ΔRecall × Precision over distinct scores."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_targets = scores[order], targets[order]
    true_pos = np.cumsum(sorted_targets)
    false_pos = np.cumsum(1 - sorted_targets)
    # Tied scores form one threshold: keep only the last position of each run of equal scores.
    last_of_run = np.r_[np.diff(sorted_scores) != 0, True]
    true_pos, false_pos = true_pos[last_of_run], false_pos[last_of_run]
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(scores, targets) -> float:
    """Mean over classes with at least one positive of each class's AP (fraction, not %)."""
    scores = _as_numpy(scores).astype(np.float64)
    targets = _as_numpy(targets)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f"expected scores and targets of one shape [V, K], got {scores.shape} "
                         f"and {targets.shape}")
    if not np.isin(targets, (0, 1)).all():
        raise ValueError("targets must be 0/1 per class")
    targets = targets.astype(np.float64)
    with_positives = np.flatnonzero(targets.sum(axis=0) > 0)
    if with_positives.size == 0:
        logger.warning("mAP undefined: no class has a positive label among %d videos", len(targets))
        return float("nan")
    aps = [average_precision(scores[:, c], targets[:, c]) for c in with_positives]
    return float(np.mean(aps))


def _communication_device() -> torch.device:
    """NCCL reduces CUDA tensors only; gloo reduces CPU tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _reduced(tensor: torch.Tensor, op, device: torch.device) -> torch.Tensor:
    on_device = tensor.to(device)
    dist.all_reduce(on_device, op=op)
    return on_device.to(tensor.device)


def _rows_differ(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    differ = a != b.to(a.dtype)
    return differ if differ.dim() == 1 else differ.any(dim=1)


def _as_numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


class ViewEnsemble:
    """Aggregates per-view scores into per-video scores (PySlowFast's TestMeter ensemble).

    Entry ``e`` of the test set is view ``e % num_views`` of video ``e // num_views``. Labels are
    class indices ``[B]`` (single-label) or 0/1 rows ``[B, K]`` (multi-label); an entry labelled
    -1 (all -1 for multi-label) marks a video that failed to decode: it is skipped and counted.
    ``method`` is DATA.ENSEMBLE_METHOD, "sum" or "max" (checked by ``datasets/spec.py``).
    """

    def __init__(self, num_videos: int, num_views: int, num_classes: int, method: str = "sum"):
        self.num_videos, self.num_views, self.num_classes = num_videos, num_views, num_classes
        self.method = method
        fill = 0.0 if method == "sum" else float("-inf")
        self.scores = torch.full((num_videos, num_classes), fill)
        self.view_counts = torch.zeros(num_videos, dtype=torch.long)
        self.labels: torch.Tensor | None = None  # created on the first add, shaped by its labels
        self.num_failed = 0

    def add(self, scores: torch.Tensor, labels: torch.Tensor, entry_indices: torch.Tensor) -> None:
        """Fold a batch of view scores ``[B, K]`` into their videos."""
        scores = scores.detach().cpu().float()
        labels = labels.detach().cpu()
        entries = entry_indices.detach().cpu().long()
        self._check_batch(scores, labels, entries)
        failed = (labels == FAILED_LABEL) if labels.dim() == 1 else (labels == FAILED_LABEL).all(1)
        self.num_failed += int(failed.sum())
        keep = ~failed
        scores, labels, entries = scores[keep], labels[keep], entries[keep]
        videos = entries // self.num_views
        self._record_labels(labels, videos, entries)
        if self.method == "sum":
            self.scores.index_add_(0, videos, scores)
        else:
            self.scores.scatter_reduce_(0, videos[:, None].expand_as(scores), scores, "amax")
        self.view_counts.index_add_(0, videos, torch.ones_like(videos))

    def _check_batch(self, scores, labels, entries) -> None:
        batch = scores.shape[0]
        if scores.shape != (batch, self.num_classes) or entries.shape != (batch,):
            raise ValueError(f"expected scores [B, {self.num_classes}] and entry_indices [B], got "
                             f"{tuple(scores.shape)} and {tuple(entries.shape)}")
        if labels.shape not in ((batch,), (batch, self.num_classes)):
            raise ValueError(f"labels must be [B] or [B, {self.num_classes}], "
                             f"got {tuple(labels.shape)}")
        limit = self.num_videos * self.num_views
        if batch and (entries.min() < 0 or entries.max() >= limit):
            raise ValueError(f"entry index out of range [0, {limit}): {entries.tolist()}")

    def _record_labels(self, labels: torch.Tensor, videos: torch.Tensor, entries: torch.Tensor):
        """Store each video's label; all views of one video must carry the same label."""
        if self.labels is None:
            shape = (self.num_videos,) + tuple(labels.shape[1:])
            self.labels = torch.full(shape, FAILED_LABEL, dtype=torch.long)
        if labels.shape[1:] != self.labels.shape[1:]:
            raise ValueError("labels switched between single-label [B] and multi-label [B, K]")
        seen_before = self.view_counts[videos] > 0
        earlier = self.labels[videos]
        self.labels[videos] = labels.long()
        # Re-reading after the write also catches two views of one video within this batch.
        stored = self.labels[videos]
        disagree = _rows_differ(stored, labels) | (seen_before & _rows_differ(earlier, labels))
        if disagree.any():
            row = int(disagree.nonzero()[0])
            raise ValueError(f"views of video {int(videos[row])} disagree on its label (entry "
                             f"{int(entries[row])} says {labels[row].tolist()})")

    def finalize(self) -> dict:
        """top1/top5 accuracy (%) or map (%) over the videos seen, with view-count bookkeeping."""
        seen = self.view_counts > 0
        incomplete = int((self.view_counts != self.num_views).sum())
        if incomplete:
            logger.warning("%d of %d videos have a view count other than %d (failed decodes or "
                           "distributed padding)", incomplete, self.num_videos, self.num_views)
        result = {"num_videos": int(seen.sum()), "num_failed": self.num_failed,
                  "incomplete": incomplete}
        if self.labels is None or not seen.any():
            return result
        scores, labels = self.scores[seen], self.labels[seen]
        if labels.dim() == 2:
            result["map"] = 100.0 * mean_average_precision(scores, labels)
        else:
            top1, top5 = topk_correct(scores, labels, (1, 5))
            result["top1"] = 100.0 * top1 / len(labels)
            result["top5"] = 100.0 * top5 / len(labels)
        return result

    def all_reduce(self) -> None:
        """Merge the ensembles of all ranks in place (each rank scored a disjoint share of entries).

        Fixed-size per-video sums/maxima reduce exactly, unlike an all_gather of padded batches.
        Call on every rank before finalize(); a no-op without an initialised process group.
        """
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return
        device = _communication_device()
        label_kind = torch.tensor([self._label_kind()], device=device)
        dist.all_reduce(label_kind, op=dist.ReduceOp.MAX)  # 0 no labels, 1 single, 2 multi
        if self.labels is None and int(label_kind) > 0:
            shape = (self.num_videos,) + ((self.num_classes,) if int(label_kind) == 2 else ())
            self.labels = torch.full(shape, FAILED_LABEL, dtype=torch.long)
        score_op = dist.ReduceOp.SUM if self.method == "sum" else dist.ReduceOp.MAX
        self.scores = _reduced(self.scores, score_op, device)
        self.view_counts = _reduced(self.view_counts, dist.ReduceOp.SUM, device)
        self.num_failed = int(_reduced(torch.tensor(self.num_failed), dist.ReduceOp.SUM, device))
        if self.labels is not None:  # -1 where a rank never saw the video; views agree otherwise
            self.labels = _reduced(self.labels, dist.ReduceOp.MAX, device)

    def _label_kind(self) -> int:
        return 0 if self.labels is None else self.labels.dim()

    def state(self) -> dict[str, torch.Tensor | None]:
        """Per-video scores, labels (None before any add) and view counts, e.g. for torch.save."""
        return {"scores": self.scores, "labels": self.labels, "view_counts": self.view_counts}

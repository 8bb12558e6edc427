"""Validation during training (one centre clip per video) and the multi-view test."""
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

from slowfast.engine.inputs import InputPreparer
from slowfast.engine.metrics import ViewEnsemble
from slowfast.utils.logging import get_logger

logger = get_logger(__name__)


def scores_from_logits(logits: torch.Tensor, head_act: str) -> torch.Tensor:
    """Softmax or sigmoid class scores, as float32."""
    logits = logits.float()
    return torch.sigmoid(logits) if head_act == "sigmoid" else torch.softmax(logits, dim=1)


@torch.no_grad()
def run_views(
    model: nn.Module, loader: DataLoader, prepare: InputPreparer, ensemble: ViewEnsemble,
    head_act: str, autocast: "torch.autocast | None" = None, log_period: int = 0,
) -> dict:
    """Score every entry of ``loader`` into ``ensemble`` and return its final metrics."""
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    for batch_index, (clips, labels, indices) in enumerate(loader):
        inputs = prepare(clips)
        if autocast is not None:
            with autocast:
                logits = model(inputs)
        else:
            logits = model(inputs)
        ensemble.add(scores_from_logits(logits, head_act).cpu(), labels, indices)
        if log_period and (batch_index + 1) % log_period == 0:
            logger.info(f"evaluated {batch_index + 1}/{len(loader)} batches")
    model.train(was_training)
    ensemble.all_reduce()  # each process scored a disjoint shard; a no-op in a single process
    results = ensemble.finalize()
    results["time_s"] = round(time.perf_counter() - start, 3)
    return results

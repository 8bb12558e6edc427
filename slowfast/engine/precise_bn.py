"""Precise BN: recompute BN statistics over many training batches before eval or a checkpoint."""
import itertools
from collections.abc import Callable, Iterable

import torch
from fvcore.nn.precise_bn import get_bn_modules, update_bn_stats
from torch import nn


def recompute_bn_stats(
    model: nn.Module, batches: Iterable, num_batches: int,
    to_inputs: Callable[[torch.Tensor], list[torch.Tensor]],
) -> None:
    """Replace BN running stats by their population estimate over exactly ``num_batches`` batches.

    ``batches`` yields ``(clips, labels, indices)`` loader items and must hold at least
    ``num_batches``; ``to_inputs`` turns uint8 clips into the model's pathway list on its device.
    """
    if num_batches <= 0 or not get_bn_modules(model):
        return
    was_training = model.training
    model.train()
    inputs = (to_inputs(clips) for clips, _, _ in itertools.islice(batches, num_batches))
    update_bn_stats(model, inputs, num_iters=num_batches)
    model.train(was_training)

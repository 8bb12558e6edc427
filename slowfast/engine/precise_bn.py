"""Precise BN: recompute BN statistics over many training batches before eval or a checkpoint."""
import itertools
from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class _PopulationEstimate:
    """Population mean and variance of one BN layer's input from per-batch statistics.

    fvcore's estimator ("Rethinking Batch in BatchNorm", appendix), except for the batch weights:
    each batch contributes its mean and biased variance weighted by the number of values its
    statistic covered (the layer's ``last_statistic_count`` when it pooled clips over ranks,
    else its own input's), so batches pooled across ranks count as their union.
    """

    def __init__(self, layer: _BatchNorm) -> None:
        self.mean = torch.zeros_like(layer.running_mean)
        self.square_mean = torch.zeros_like(layer.running_var)
        self.total = 0

    def add(self, batch_mean: torch.Tensor, unbiased_var: torch.Tensor, count: int) -> None:
        self.total += count
        weight = count / self.total
        biased_var = unbiased_var * ((count - 1) / count)
        self.mean += (batch_mean - self.mean) * weight
        self.square_mean += (batch_mean.square() + biased_var - self.square_mean) * weight

    def write_to(self, layer: _BatchNorm) -> None:
        # The population's (biased) variance, as fvcore's estimator gives it.
        layer.running_mean.copy_(self.mean)
        layer.running_var.copy_(self.square_mean - self.mean.square())


@torch.no_grad()
def recompute_bn_stats(
    model: nn.Module, batches: Iterable, num_batches: int,
    to_inputs: Callable[[torch.Tensor], list[torch.Tensor]],
) -> None:
    """Replace BN running stats by their population estimate over exactly ``num_batches`` batches.

    ``batches`` yields ``(clips, labels, indices)`` loader items and must hold at least
    ``num_batches``; ``to_inputs`` turns uint8 clips into the model's pathway list on its device.
    """
    layers = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if num_batches <= 0 or not layers:
        return
    local_counts: dict[nn.Module, int] = {}

    def record_count(layer: nn.Module, inputs: tuple) -> None:
        local_counts[layer] = inputs[0].numel() // inputs[0].shape[1]

    hooks = [layer.register_forward_pre_hook(record_count) for layer in layers]
    momenta = [layer.momentum for layer in layers]
    estimates = [_PopulationEstimate(layer) for layer in layers]
    was_training = model.training
    model.train()
    try:
        for layer in layers:
            layer.momentum = 1.0  # running stats become the last batch's statistics
        seen = 0
        for clips, _, _ in itertools.islice(batches, num_batches):
            local_counts.clear()
            model(to_inputs(clips))
            for layer, estimate in zip(layers, estimates):
                if layer in local_counts:  # unused layers keep their estimate
                    count = getattr(layer, "last_statistic_count", None) or local_counts[layer]
                    estimate.add(layer.running_mean, layer.running_var, count)
            seen += 1
        if seen != num_batches:
            raise ValueError(f"precise BN needs {num_batches} batches but the loader gave {seen}")
        for layer, estimate in zip(layers, estimates):
            estimate.write_to(layer)
    finally:
        for hook in hooks:
            hook.remove()
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.train(was_training)

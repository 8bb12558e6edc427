"""Model size and compute: parameter count and GFLOPs per clip (torch.utils.flop_counter)."""
from collections.abc import Sequence

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module) -> int:
    """Number of parameter elements (buffers such as BN running stats excluded)."""
    return sum(p.numel() for p in model.parameters())


def gflops_per_clip(model: nn.Module, input_shapes: Sequence[tuple[int, ...]]) -> float:
    """GFLOPs of one eval-mode forward of a single clip, counted as multiply-adds.

    ``input_shapes`` holds one ``(C, T, H, W)`` per pathway. One multiply-add counts as one FLOP,
    the convention of the SlowFast and multigrid papers and of PySlowFast's fvcore counter
    (``FlopCounterMode`` counts two). The model's train/eval modes are restored afterwards.
    """
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.float32
    inputs = [torch.zeros((1, *shape), device=device, dtype=dtype) for shape in input_shapes]
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(inputs)
    finally:
        for module, training in modes.items():
            module.training = training
    return counter.get_total_flops() / 2 / 1e9


def model_info_line(model: nn.Module, input_shapes: Sequence[tuple[int, ...]]) -> str:
    """One log line: class, parameters and GFLOPs per clip at the given input shapes."""
    shapes = ", ".join("x".join(str(d) for d in shape) for shape in input_shapes)
    return (
        f"Model {type(model).__name__}: {count_parameters(model):,} parameters, "
        f"{gflops_per_clip(model, input_shapes):.2f} GFLOPs (multiply-adds) per clip of [{shapes}]"
    )

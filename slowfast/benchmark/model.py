"""Model benchmark: forward + backward seconds per step and peak memory, per clip shape and batch."""
import contextlib
import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
from torch import nn


PRECISIONS = ("fp32", "bf16")
MEMORY_FORMATS = {"contiguous": torch.contiguous_format, "channels_last_3d": torch.channels_last_3d}


@dataclass(frozen=True)
class StepResult:
    """Timing of training steps at one input shape and batch size."""

    shape: str
    num_frames: int
    crop_size: int
    batch_size: int
    device: str
    precision: str
    memory_format: str
    step_s: float
    clips_per_s: float
    peak_memory_mb: float

    def to_json(self) -> dict:
        return asdict(self)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_training_step(
    model: nn.Module,
    input_shapes: Sequence[tuple[int, ...]],
    batch_size: int,
    device: torch.device,
    num_steps: int,
    warmup_steps: int = 1,
    precision: str = "fp32",
    memory_format: torch.memory_format = torch.contiguous_format,
) -> tuple[float, float]:
    """(mean seconds per forward+backward step, peak memory in MB) on random inputs.

    ``precision`` "bf16" runs the forward under bf16 autocast (CUDA only), as TRAIN.MIXED_PRECISION
    does; ``memory_format`` applies to the inputs (the model must already be in it).

    Peak memory is the CUDA allocator's peak on GPU and the Python-tracked peak (tracemalloc,
    which sees torch's CPU allocations only partially) on CPU; compare it only across shapes.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" and device.type != "cuda":
        raise ValueError("bf16 autocast is measured on CUDA only; use --precisions fp32 on CPU")
    model.train()
    inputs = [
        torch.randn((batch_size, *shape), device=device).contiguous(memory_format=memory_format)
        for shape in input_shapes
    ]
    autocast = (torch.autocast(device_type="cuda", dtype=torch.bfloat16) if precision == "bf16"
                else contextlib.nullcontext())
    for _ in range(warmup_steps):
        _step(model, inputs, autocast)
    _synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        tracemalloc.start()
    start = time.perf_counter()
    for _ in range(num_steps):
        _step(model, inputs, autocast)
    _synchronize(device)
    seconds = (time.perf_counter() - start) / num_steps
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return seconds, peak / 2**20


def _step(model: nn.Module, inputs: list[torch.Tensor], autocast) -> None:
    model.zero_grad(set_to_none=True)
    with autocast:
        logits = model(inputs)
    logits.float().sum().backward()

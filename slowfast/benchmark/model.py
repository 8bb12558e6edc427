"""Model benchmark: forward + backward seconds per step, per GFLOP, and of the BN layers alone.

Steps of every measured shape are interleaved (one timed step of each shape per round, medians
over the rounds), so a burst of machine noise hits all shapes alike and their ratios stay fair.
"""
import contextlib
import ctypes
import ctypes.util
import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from slowfast.models.norm import GroupedBatchNorm3d, RunningStatQueue, batch_running_stat_updates

PRECISIONS = ("fp32", "bf16")
MEMORY_FORMATS = {"contiguous": torch.contiguous_format, "channels_last_3d": torch.channels_last_3d}


@dataclass(frozen=True)
class StepResult:
    """Timing of training steps at one input shape and batch size (medians over the rounds)."""

    shape: str
    num_frames: int
    crop_size: int
    batch_size: int
    device: str
    precision: str
    memory_format: str
    step_s: float
    clips_per_s: float
    gflops: float  # forward GFLOPs (multiply-adds) of the whole batch, the schedule's unit
    s_per_gflop: float
    relative_s_per_gflop: float  # against the full shape's s_per_gflop (1.0 = as efficient)
    # CUDA only (else None): torch.cuda.max_memory_allocated over one step, tensors of the whole process.
    cuda_max_allocated_mb: Optional[float]
    # CPU only (else None, and on systems without /proc): the process's resident memory at its
    # highest during one step (sampled every millisecond) minus just before it, with glibc's free
    # memory returned to the system first: the step's transient memory, a lower bound.
    cpu_rss_growth_mb: Optional[float]
    bn_grouped_s: Optional[float] = None  # the model's BN layers alone, as trained (grouped)
    bn_plain_s: Optional[float] = None  # the same layers as plain BatchNorm3d over the batch
    bn_ratio: Optional[float] = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StepCase:
    """One thing to time: a model at a shape and batch, in a precision and memory format."""

    shape: tuple[int, int]
    input_shapes: tuple[tuple[int, ...], ...]
    batch_size: int
    precision: str


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast_for(precision: str, device: torch.device):
    """bf16 autocast (CUDA only, as TRAIN.MIXED_PRECISION) or nothing for fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" and device.type != "cuda":
        raise ValueError("bf16 autocast is measured on CUDA only; use --precisions fp32 on CPU")
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()


def training_step(
    model: nn.Module, case: StepCase, device: torch.device, memory_format: torch.memory_format
) -> Callable[[], None]:
    """A forward + backward of ``model`` on fixed random inputs of ``case``, its BN running-stat
    updates batched as the trainer batches them."""
    model.train()
    batch_running_stat_updates(model)
    inputs = [
        torch.randn((case.batch_size, *shape), device=device).contiguous(memory_format=memory_format)
        for shape in case.input_shapes
    ]
    autocast = autocast_for(case.precision, device)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with autocast:
            logits = model(inputs)
        logits.float().sum().backward()

    return step


def bn_steps(
    model: nn.Module, case: StepCase, device: torch.device, memory_format: torch.memory_format
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(grouped, plain): forward + backward of every grouped BN layer of ``model`` alone, on
    random inputs of the sizes those layers see at ``case``, and of plain BatchNorm3d layers on
    the same inputs. One layer per layer of the model (layers of one input size share the
    input), with the grouped running-stat updates batched as the training loop batches them."""
    seen: list[tuple[tuple[int, ...], torch.dtype, Optional[int], Optional[int]]] = []
    hooks = [
        layer.register_forward_pre_hook(
            lambda layer, args: seen.append(
                (tuple(args[0].shape), args[0].dtype, layer.group_size, layer.reference_batch))
        )
        for layer in model.modules() if isinstance(layer, GroupedBatchNorm3d)
    ]
    try:
        training_step(model, case, device, memory_format)()
    finally:
        for hook in hooks:
            hook.remove()
    inputs = {
        (shape, dtype): torch.randn(shape, device=device, dtype=dtype).contiguous(memory_format=memory_format)
        .requires_grad_()
        for shape, dtype in dict.fromkeys((shape, dtype) for shape, dtype, _, _ in seen)
    }
    work = [
        (inputs[shape, dtype],
         GroupedBatchNorm3d(shape[1], group_size=group_size, reference_batch=reference).to(device).train(),
         nn.BatchNorm3d(shape[1]).to(device).train())
        for shape, dtype, group_size, reference in seen
    ]

    queue = RunningStatQueue()
    queue.attach(grouped for _, grouped, _ in work)

    def run(use_grouped: bool) -> None:
        with queue.collecting():
            for x, grouped, plain in work:
                y = (grouped if use_grouped else plain)(x)
                y.backward(torch.ones_like(y))
                x.grad = None

    return (lambda: run(True)), (lambda: run(False))


def step_memory_mb(step: Callable[[], None], device: torch.device) -> tuple[Optional[float], Optional[float]]:
    """(cuda_max_allocated_mb, cpu_rss_growth_mb) of one call of ``step``; the other device's is None."""
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        step()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) / 2**20, None
    return None, cpu_rss_growth_mb(step)


def cpu_rss_growth_mb(step: Callable[[], None], interval_s: float = 0.001) -> Optional[float]:
    """Peak resident memory of this process during ``step`` (sampled every ``interval_s`` by a
    thread; torch releases the GIL in its kernels) minus the resident memory before it, in MiB;
    None where /proc/self/statm does not exist. glibc's cached free memory is returned first, so
    that the step's allocations show as growth instead of reusing pages already resident."""
    _trim_malloc()
    before = _resident_bytes()
    if before is None:
        return None
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _resident_bytes() or 0)
            done.wait(interval_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        step()
    finally:
        done.set()
        sampler.join()
    return (max(peak[0], _resident_bytes() or 0) - before) / 2**20


def _resident_bytes() -> Optional[int]:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _trim_malloc() -> None:
    """glibc's malloc_trim(0): give free heap pages back to the system (no-op elsewhere)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    except OSError:
        pass


def median_seconds_interleaved(
    steps: dict[str, Callable[[], None]], rounds: int, device: torch.device
) -> dict[str, float]:
    """Median seconds of each step over ``rounds`` rounds of one call of every step in turn."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            step()
            synchronize(device)
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def measure_cases(
    model: nn.Module,
    cases: Sequence[StepCase],
    gflops_per_clip: Callable[[tuple[int, int]], float],
    full_shape: tuple[int, int],
    device: torch.device,
    rounds: int,
    memory_format_name: str = "contiguous",
    with_bn: bool = False,
    warmup_steps: int = 1,
) -> list[StepResult]:
    """Time every case (and with ``with_bn`` its BN layers alone), all interleaved per round.

    ``relative_s_per_gflop`` compares each case with the case at ``full_shape`` of the same
    precision and batch order; when that shape is not among the cases, with the largest one.
    """
    memory_format = MEMORY_FORMATS[memory_format_name]
    model.to(memory_format=memory_format)
    steps: dict[str, Callable[[], None]] = {}
    memory: dict[int, tuple[Optional[float], Optional[float]]] = {}
    for index, case in enumerate(cases):
        steps[f"model{index}"] = training_step(model, case, device, memory_format)
        for _ in range(warmup_steps):
            steps[f"model{index}"]()
        memory[index] = step_memory_mb(steps[f"model{index}"], device)
        if with_bn:
            steps[f"grouped{index}"], steps[f"plain{index}"] = bn_steps(model, case, device, memory_format)
            steps[f"grouped{index}"](), steps[f"plain{index}"]()
    medians = median_seconds_interleaved(steps, rounds, device)
    results = []
    for index, case in enumerate(cases):
        step_s = medians[f"model{index}"]
        gflops = gflops_per_clip(case.shape) * case.batch_size
        bn = {}
        if with_bn:
            grouped_s, plain_s = medians[f"grouped{index}"], medians[f"plain{index}"]
            bn = {"bn_grouped_s": grouped_s, "bn_plain_s": plain_s, "bn_ratio": grouped_s / plain_s}
        results.append(StepResult(
            shape=f"{case.shape[0]}x{case.shape[1]}", num_frames=case.shape[0], crop_size=case.shape[1],
            batch_size=case.batch_size, device=str(device), precision=case.precision,
            memory_format=memory_format_name, step_s=step_s, clips_per_s=case.batch_size / step_s,
            gflops=gflops, s_per_gflop=step_s / gflops, relative_s_per_gflop=1.0,
            cuda_max_allocated_mb=memory[index][0], cpu_rss_growth_mb=memory[index][1], **bn,
        ))
    return _relative_to_full_shape(results, full_shape)


def _relative_to_full_shape(results: list[StepResult], full_shape: tuple[int, int]) -> list[StepResult]:
    """Each result's s_per_gflop over that of the full shape (same precision)."""
    relative = []
    for result in results:
        peers = [r for r in results if r.precision == result.precision]
        full = [r for r in peers if (r.num_frames, r.crop_size) == full_shape]
        reference = full[0] if full else max(peers, key=lambda r: r.num_frames * r.crop_size**2)
        relative.append(StepResult(**{**result.to_json(),
                                      "relative_s_per_gflop": result.s_per_gflop / reference.s_per_gflop}))
    return relative

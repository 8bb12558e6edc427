"""Batch norm whose statistics cover a fixed number of clips, whatever the per-device batch.

Multigrid training changes the per-device batch from stage to stage and from iteration to
iteration, while BN should keep seeing ``MULTIGRID.BN_BASE_SIZE`` clips per statistic (Wu et al.,
2020, section 3.3). :class:`GroupedBatchNorm3d` does that by normalising groups of clips
separately, with one call of the backend's fused batch-norm kernel; its parameters and buffers
are exactly a ``nn.BatchNorm3d``'s, so checkpoints, weight init and precise BN treat it as a
plain BN.

A model configured with :func:`batch_running_stat_updates` (the trainer does it) has its layers
queue their running-stat updates during each of its forwards, and the forward's end makes them
all at once, in a handful of ops for the whole model instead of several per layer: on a CPU
those small ops cost more than the batch norm itself at multigrid's small shapes.
"""
import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from slowfast.utils import distributed
from slowfast.utils.bn_groups import clips_per_statistic

logger = logging.getLogger(__name__)

# Builds the norm layer of ``num_features`` channels that every block of a model uses.
NormFactory = Callable[[int], nn.Module]

# (batch, group_size) pairs already warned about, so the warning is logged once per pair.
_warned_small_batches: set[tuple[int, int]] = set()


class GroupedBatchNorm3d(nn.BatchNorm3d):
    """BatchNorm3d that, in training, normalises each group of ``group_size`` clips on its own.

    With ``group_size`` None, in eval mode, or when the batch has at most ``group_size`` clips, it
    is exactly ``nn.BatchNorm3d``. Otherwise the batch makes ``batch // group_size`` groups
    (strided: see ``_grouped_forward``; a remainder joins the last group), each normalised with
    its own mean and biased variance as if it went through its own BN, and the running statistics
    move towards the statistics of the union of the groups (size-weighted mean; law of total
    variance, with the unbiased correction ``n / (n - 1)`` that ``nn.BatchNorm3d`` applies).
    With ``reference_batch`` (the global batch at the full shape), a batch of N clips on each of
    W processes is grouped by ``group_size * N * W // reference_batch`` clips instead
    (``clips_per_statistic``): as many groups at every batch as at the reference one.
    ``group_size`` may be changed at any time.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        group_size: int | None = None,
        reference_batch: int | None = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        if group_size is not None and group_size < 1:
            raise ValueError(
                f"GroupedBatchNorm3d group_size must be >= 1 or None, got {group_size}"
            )
        if reference_batch is not None and reference_batch < 1:
            raise ValueError(
                f"GroupedBatchNorm3d reference_batch must be >= 1 or None, got {reference_batch}"
            )
        self.group_size = group_size
        self.reference_batch = reference_batch
        self.last_statistic_count: int | None = None
        # Where the layer queues its running-stat updates (batch_running_stat_updates); None: made at once.
        self.running_stat_queue: RunningStatQueue | None = None

    def extra_repr(self) -> str:
        reference = "" if self.reference_batch is None else f", reference_batch={self.reference_batch}"
        return f"{super().extra_repr()}, group_size={self.group_size}{reference}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Values behind the last running-stat update (clips x T x H x W, over the pooled ranks
        # when pooled): precise BN weights batches by it. A plain attribute, not state.
        self.last_statistic_count = x.numel() // x.shape[1]
        if not self.training or self.group_size is None:
            return super().forward(x)
        batch = x.shape[0]
        group_size = self.group_size
        if self.reference_batch is not None:
            group_size = clips_per_statistic(batch * distributed.world_size(), group_size, self.reference_batch)
        if batch < group_size:
            ranks = distributed.ranks_per_bn_group(batch, group_size)
            if ranks > 1:
                self._check_input_dim(x)
                return self._cross_rank_forward(x, distributed.bn_process_group(ranks), ranks)
            _warn_small_batch(batch, group_size)
        if batch <= group_size:
            return super().forward(x)
        self._check_input_dim(x)
        return self._grouped_forward(x, group_size)

    def _grouped_forward(self, x: torch.Tensor, group_size: int) -> torch.Tensor:
        """Normalise each clip group with its own statistics; update the running stats.

        Clip ``i`` of a batch of ``num_groups * group_size`` clips belongs to group
        ``i % num_groups`` (strided groups, as PySlowFast's SubBatchNorm3d), so the batch viewed
        as ``(group_size, num_groups * C, T, H, W)`` is one ``F.batch_norm`` call: the backend's
        fused kernel, no float32 copy of a bf16 input. A remainder of ``r`` clips makes the last
        ``group_size + r`` clips one more group, normalised by a second call.
        """
        batch = x.shape[0]
        num_groups = batch // group_size
        strided_clips = batch if batch % group_size == 0 else (num_groups - 1) * group_size
        strided_groups = strided_clips // group_size
        # One split, not two slices: a slice's backward fills a full-size zero gradient.
        heads = [x] if strided_clips == batch else x.split([strided_clips, batch - strided_clips])
        y, stats = _normalise_strided_groups(heads[0], strided_groups, self.weight, self.bias, self.eps)
        if strided_clips < batch:
            tail, tail_stats = _normalise_strided_groups(heads[1], 1, self.weight, self.bias, self.eps)
            y, stats = torch.cat([y, tail]), torch.cat([stats, tail_stats], dim=1)
        if self.track_running_stats:
            values_per_clip = math.prod(x.shape[2:])
            if strided_clips == batch:
                values_per_group = group_size * values_per_clip
                if not self._queue_running_stats(stats, values_per_group):
                    self._update_running_stats_equal_groups(stats, values_per_group)
            else:
                # Filled on the device: a tensor built from a Python list would be a host copy.
                sizes = torch.full((num_groups,), group_size, dtype=stats.dtype, device=x.device)
                sizes[-1] = batch - strided_clips
                # The kernel records unbiased variances; the aggregate needs the biased ones.
                values = sizes[:, None] * values_per_clip
                self._update_running_stats(stats[0], stats[1] * (values - 1) / values, sizes, batch * values_per_clip)
        if x.is_contiguous(memory_format=torch.channels_last_3d) and not x.is_contiguous():
            y = y.contiguous(memory_format=torch.channels_last_3d)
        return y

    def _cross_rank_forward(self, x: torch.Tensor, group, num_ranks: int) -> torch.Tensor:
        """Normalise with statistics over the union of the batches of the ``num_ranks`` in ``group``.

        Sums and sums of squares go through a differentiable all-reduce, so gradients flow back
        to every rank's clips as if one BN saw the pooled batch. Every rank holds as many clips
        (the sampler's contract), so the pooled count needs no communication.
        """
        x32 = x.float()
        channels = x.shape[1]
        total = x[:, 0].numel() * num_ranks
        self.last_statistic_count = total
        local = torch.cat([x32.sum(dim=(0, 2, 3, 4)), x32.square().sum(dim=(0, 2, 3, 4))])
        pooled = distributed.differentiable_all_reduce_sum(local, group)
        mean = pooled[:channels] / total
        # E[x^2] - E[x]^2 in float32; clamped against rounding below zero.
        var = (pooled[channels:2 * channels] / total - mean.square()).clamp(min=0)
        scale = torch.rsqrt(var + self.eps)
        if self.affine:
            scale = scale * self.weight.float()
        y = (x32 - mean[None, :, None, None, None]) * scale[None, :, None, None, None]
        if self.affine:
            y = y + self.bias.float()[None, :, None, None, None]
        if self.track_running_stats:
            self._update_running_stats(mean.detach()[None], var.detach()[None], torch.ones(1, device=x.device), total)
        return y.to(x.dtype)

    def _queue_running_stats(self, stats: torch.Tensor, values_per_group: int) -> bool:
        """Queue the update from the [2, G, C] group statistics when the layer's queue is open and
        the layer can join a batch (a fixed momentum; not while torch.compile traces); True if queued."""
        queue = self.running_stat_queue
        if queue is None or not queue.is_open or self.momentum is None or torch.compiler.is_compiling():
            return False
        queue.add(self, stats, values_per_group)
        return True

    def _update_running_stats_equal_groups(self, stats: torch.Tensor, values_per_group: int) -> None:
        """``_update_running_stats`` for groups of one size, from the kernel's [2, G, C] means and
        unbiased variances. It runs in every BN layer at every step, so it is written for few,
        cheap ops: the statistics never require grad, and it avoids ``torch.var_mean`` over the
        group dimension, which costs about 0.5 ms at 2,048 channels on a CPU."""
        num_values = values_per_group * stats.shape[1]
        centre = stats.mean(dim=1)  # the mean, and the mean within-group unbiased variance
        between = torch.sub(stats[0], centre[0]).square_().mean(dim=0)
        # Law of total variance (biased), then the unbiased correction over the union.
        biased_var = between.add_(centre[1], alpha=(values_per_group - 1) / values_per_group)
        self._move_running_stats(centre[0], biased_var.mul_(num_values / max(num_values - 1, 1)))

    @torch.no_grad()
    def _update_running_stats(
        self,
        group_mean: torch.Tensor,
        group_var: torch.Tensor,
        clips_per_group: torch.Tensor,
        num_values: int,
    ) -> None:
        """Move the running stats towards the aggregate of the groups' statistics."""
        weights = (clips_per_group / clips_per_group.sum())[:, None]
        mean = (weights * group_mean).sum(dim=0)
        # Law of total variance: within-group variance plus variance of the group means.
        biased_var = (weights * (group_var + (group_mean - mean).square())).sum(dim=0)
        unbiased_var = biased_var * (num_values / max(num_values - 1, 1))
        self._move_running_stats(mean, unbiased_var)

    def _move_running_stats(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        """Move the running stats towards ``mean`` and ``unbiased_var``, which require no grad."""
        self.num_batches_tracked.add_(1)
        if self.momentum is None:  # cumulative moving average, as nn.BatchNorm
            factor = 1.0 / float(self.num_batches_tracked)
        else:
            factor = self.momentum
        if mean.dtype != self.running_mean.dtype:
            mean, unbiased_var = mean.to(self.running_mean.dtype), unbiased_var.to(self.running_var.dtype)
        torch._foreach_lerp_([self.running_mean, self.running_var], [mean, unbiased_var], factor)


class RunningStatQueue:
    """Running-stat updates of grouped BN layers, queued while the queue is open and made together
    when it closes (the same values as one by one, see ``_update_queued``)."""

    def __init__(self) -> None:
        self.entries: list[tuple[GroupedBatchNorm3d, torch.Tensor, int]] = []
        self._layers: set[int] = set()
        self.is_open = False
        # Per-channel factors of a set of layers, by their (channels, values per group) and group count.
        self.factors: dict[tuple, torch.Tensor] = {}

    def attach(self, layers: Iterable[nn.Module]) -> None:
        """Make the grouped BN layers among ``layers`` queue here while the queue is open."""
        for layer in layers:
            if isinstance(layer, GroupedBatchNorm3d):
                layer.running_stat_queue = self

    def open(self) -> None:
        """Start queueing; updates left by a forward that raised are dropped unmade."""
        self.entries, self._layers, self.is_open = [], set(), True

    def close(self) -> None:
        """Make the queued updates and stop queueing."""
        try:
            self.flush()
        finally:
            self.is_open = False

    @contextlib.contextmanager
    def collecting(self) -> Iterator[None]:
        """Queue the updates of the block and make them at its end; a block that raises makes none."""
        self.open()
        try:
            yield
            self.flush()
        finally:
            self.entries, self._layers, self.is_open = [], set(), False

    def add(self, layer: "GroupedBatchNorm3d", stats: torch.Tensor, values_per_group: int) -> None:
        if id(layer) in self._layers:  # a layer called twice: its first update goes first
            self.flush()
        self.entries.append((layer, stats, values_per_group))
        self._layers.add(id(layer))

    def flush(self) -> None:
        _update_queued(self.entries, self.factors)
        self.entries, self._layers = [], set()


def batch_running_stat_updates(model: nn.Module) -> RunningStatQueue:
    """Make the grouped BN layers of ``model`` queue their running-stat updates during each forward
    of ``model`` and make them together at its end; a forward that raises makes none. Returns the
    model's queue (the same one when called again)."""
    queue = getattr(model, "running_stat_queue", None)
    if isinstance(queue, RunningStatQueue):
        return queue
    queue = RunningStatQueue()
    queue.attach(model.modules())
    model.running_stat_queue = queue

    # Not while torch.compile traces: the layers then update at once, inside the graph.
    def open_queue(module: nn.Module, args: tuple) -> None:
        if not torch.compiler.is_compiling():
            queue.open()

    def close_queue(module: nn.Module, args: tuple, output) -> None:
        if not torch.compiler.is_compiling():
            queue.close()

    model.register_forward_pre_hook(open_queue)
    model.register_forward_hook(close_queue)
    return queue


def _update_queued(queued: list[tuple[GroupedBatchNorm3d, torch.Tensor, int]], factor_cache: dict) -> None:
    """``_update_running_stats_equal_groups`` for every queued layer, batched over the layers
    that share a group count, momentum, device and dtypes."""
    batches: dict[tuple, list] = {}
    for layer, stats, values_per_group in queued:
        key = (stats.shape[1], layer.momentum, stats.device, stats.dtype, layer.running_mean.dtype)
        batches.setdefault(key, []).append((layer, stats, values_per_group))
    for (num_groups, momentum, device, dtype, buffer_dtype), entries in batches.items():
        layers = [layer for layer, _, _ in entries]
        channels = [stats.shape[2] for _, stats, _ in entries]
        layer_sizes = tuple(zip(channels, (n for _, _, n in entries)))
        factors = _channel_factors(layer_sizes, num_groups, device, dtype, factor_cache)
        stats = torch.cat([stats for _, stats, _ in entries], dim=2)
        centre = stats.mean(dim=1)  # the mean, and the mean within-group unbiased variance
        between = torch.sub(stats[0], centre[0]).square_().mean(dim=0)
        # Law of total variance (biased), then the unbiased correction over the union.
        unbiased_var = between.addcmul_(centre[1], factors[0]).mul_(factors[1])
        means, variances = centre[0], unbiased_var
        if dtype != buffer_dtype:
            means, variances = means.to(buffer_dtype), variances.to(buffer_dtype)
        torch._foreach_add_([layer.num_batches_tracked for layer in layers], 1)
        torch._foreach_lerp_([layer.running_mean for layer in layers] + [layer.running_var for layer in layers],
                             list(means.split(channels)) + list(variances.split(channels)), momentum)


def _channel_factors(layers: tuple[tuple[int, int], ...], num_groups: int, device: torch.device,
                     dtype: torch.dtype, cache: dict) -> torch.Tensor:
    """[2, channels of all layers]: each layer's ``(n - 1) / n`` and ``N / (N - 1)`` for ``n``
    values per group and ``N = n * num_groups``, repeated over its channels. Made once per set
    of layer shapes (a schedule has a few), so a step copies nothing from the host."""
    key = (layers, num_groups, device, dtype)
    if key not in cache:
        channels = torch.tensor([channels for channels, _ in layers])
        values = torch.tensor([n for _, n in layers], dtype=torch.float64)
        total = values * num_groups
        per_layer = torch.stack([(values - 1) / values, total / (total - 1).clamp(min=1)])
        cache[key] = per_layer.repeat_interleave(channels, dim=1).to(device=device, dtype=dtype)
    return cache[key]


def _normalise_strided_groups(
    x: torch.Tensor, num_groups: int, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch-norm clip ``i`` of ``x`` with the statistics of the clips ``j`` where
    ``j % num_groups == i % num_groups``; returns the output and a [2, G, C] tensor of each
    group's mean and unbiased variance (at least float32, as the kernel keeps them)."""
    batch, channels = x.shape[:2]
    # Momentum 1 makes the kernel write the groups' statistics into these rows.
    stats = torch.zeros(2, num_groups * channels, dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)
    folded = x.reshape(batch // num_groups, num_groups * channels, *x.shape[2:])
    y = F.batch_norm(
        folded, stats[0], stats[1],
        None if weight is None else weight.repeat(num_groups),
        None if bias is None else bias.repeat(num_groups),
        training=True, momentum=1.0, eps=eps,
    )
    return y.reshape(x.shape), stats.view(2, num_groups, channels)


def _warn_small_batch(batch: int, group_size: int) -> None:
    """Warn once per (batch, group_size) that BN statistics cover fewer clips than intended."""
    if (batch, group_size) in _warned_small_batches:
        return
    _warned_small_batches.add((batch, group_size))
    logger.warning(
        "Per-device batch of %d clips is smaller than the %d clips a BN statistic should cover "
        "(MULTIGRID.BN_BASE_SIZE, BN_GROUPING): BN statistics are computed over these %d clips only "
        "(a single process, or too few processes to pool with).",
        batch, group_size, batch,
    )

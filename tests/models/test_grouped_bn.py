"""GroupedBatchNorm3d: per-group statistics in training, plain BatchNorm3d otherwise."""
import logging

import pytest
import torch
import torch.nn as nn

from slowfast.models.norm import GroupedBatchNorm3d, RunningStatQueue, batch_running_stat_updates

CHANNELS = 3


def _grouped_and_reference(group_size: int, num_refs: int, momentum: float | None = 0.1):
    """A GroupedBatchNorm3d with random affine/running stats and plain BNs with the same state."""
    torch.manual_seed(0)
    grouped = GroupedBatchNorm3d(CHANNELS, momentum=momentum, group_size=group_size)
    with torch.no_grad():
        grouped.weight.copy_(torch.randn(CHANNELS))
        grouped.bias.copy_(torch.randn(CHANNELS))
        grouped.running_mean.copy_(torch.randn(CHANNELS))
        grouped.running_var.copy_(torch.rand(CHANNELS) + 0.5)
    refs = []
    for _ in range(num_refs):
        ref = nn.BatchNorm3d(CHANNELS, momentum=momentum)
        ref.load_state_dict(grouped.state_dict())
        refs.append(ref)
    return grouped, refs


def _clip_batch(n: int) -> torch.Tensor:
    return (torch.randn(n, CHANNELS, 2, 3, 3) * 2 + 1).requires_grad_()


# Clip i of a batch of G * group_size clips is in group i % G; a remainder joins the last group.
GROUPINGS = [
    (8, 4, [[0, 2, 4, 6], [1, 3, 5, 7]]),
    (12, 4, [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]]),
    (16, 2, [[j, j + 8] for j in range(8)]),
    (11, 4, [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9, 10]]),
    (14, 4, [[0, 2, 4, 6], [1, 3, 5, 7], [8, 9, 10, 11, 12, 13]]),
    (5, 2, [[0, 1], [2, 3, 4]]),
]


def _per_group_reference(x: torch.Tensor, groups, weight, bias, eps=1e-5):
    """Each group normalised with its own mean and biased variance, computed directly in float64."""
    y = torch.empty_like(x, dtype=torch.float64)
    for members in groups:
        part = x[members].double()
        mean = part.mean(dim=(0, 2, 3, 4), keepdim=True)
        var = part.var(dim=(0, 2, 3, 4), unbiased=False, keepdim=True)
        normalised = (part - mean) / torch.sqrt(var + eps)
        y[members] = normalised * weight.double()[:, None, None, None] + bias.double()[:, None, None, None]
    return y


def _assert_forward_and_backward_match_per_group_computation(grouped, batch, groups):
    x = _clip_batch(batch)
    y = grouped(x)
    weight = grouped.weight.detach().clone().requires_grad_()
    bias = grouped.bias.detach().clone().requires_grad_()
    y_ref = _per_group_reference(x, groups, weight, bias)
    torch.testing.assert_close(y.double(), y_ref, rtol=1e-5, atol=1e-5)

    upstream = torch.randn_like(y)
    grads = torch.autograd.grad(y, [x, grouped.weight, grouped.bias], upstream)
    ref_grads = torch.autograd.grad(y_ref, [x, weight, bias], upstream.double())
    for got, expected in zip(grads, ref_grads):
        torch.testing.assert_close(got.double(), expected.double(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch, group_size, groups", GROUPINGS)
def test_training_equals_direct_per_group_computation(batch, group_size, groups):
    grouped, _ = _grouped_and_reference(group_size, 0)
    _assert_forward_and_backward_match_per_group_computation(grouped, batch, groups)


@pytest.mark.parametrize("batch, group_size, groups", [GROUPINGS[0], GROUPINGS[3]])
def test_bfloat16_input_stays_bfloat16_and_matches_per_group_computation(batch, group_size, groups):
    grouped, _ = _grouped_and_reference(group_size, 0)
    x = _clip_batch(batch).detach().bfloat16()
    y = grouped(x)
    assert y.dtype == torch.bfloat16
    y_ref = _per_group_reference(x, groups, grouped.weight.detach(), grouped.bias.detach())
    # The statistics are float32; only the output's bf16 rounding (8 bits of mantissa) remains.
    torch.testing.assert_close(y.double(), y_ref, rtol=2 ** -7, atol=2 ** -7)


def test_float64_input_matches_per_group_computation():
    batch, group_size, groups = GROUPINGS[1]
    grouped, _ = _grouped_and_reference(group_size, 0)
    grouped.double()
    x = _clip_batch(batch).detach().double()
    y_ref = _per_group_reference(x, groups, grouped.weight.detach(), grouped.bias.detach())
    torch.testing.assert_close(grouped(x), y_ref, rtol=1e-10, atol=1e-10)


def test_channels_last_input_gives_channels_last_output_with_the_same_values():
    grouped, _ = _grouped_and_reference(4, 0)
    x = _clip_batch(8).detach()
    expected = grouped(x)
    y = grouped(x.contiguous(memory_format=torch.channels_last_3d))
    assert y.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(y, expected, rtol=0, atol=0)


@pytest.mark.parametrize("momentum", [0.1, 1.0, None])
@pytest.mark.parametrize("batch, group_size, groups", [GROUPINGS[1], GROUPINGS[4]])
def test_running_stats_follow_aggregate_of_groups(momentum, batch, group_size, groups):
    grouped, _ = _grouped_and_reference(group_size=group_size, num_refs=0, momentum=momentum)
    start_mean, start_var = grouped.running_mean.clone(), grouped.running_var.clone()
    x = _clip_batch(batch).detach()
    grouped(x)

    members = [x[g] for g in groups]
    sizes = torch.tensor([float(len(g)) for g in groups])[:, None]
    means = torch.stack([m.mean(dim=(0, 2, 3, 4)) for m in members])
    variances = torch.stack([m.var(dim=(0, 2, 3, 4), unbiased=False) for m in members])
    mean = (sizes * means).sum(0) / sizes.sum()
    biased_var = (sizes * (variances + (means - mean) ** 2)).sum(0) / sizes.sum()
    n = x.numel() // CHANNELS
    unbiased_var = biased_var * n / (n - 1)
    factor = 1.0 if momentum is None else momentum  # cumulative average of one batch = that batch
    torch.testing.assert_close(grouped.running_mean, (1 - factor) * start_mean + factor * mean)
    expected_var = (1 - factor) * start_var + factor * unbiased_var
    torch.testing.assert_close(grouped.running_var, expected_var)
    assert grouped.num_batches_tracked.item() == 1
    # The aggregate is the whole batch's statistic, as one BN over all clips would record it.
    whole = nn.BatchNorm3d(CHANNELS, momentum=1.0)
    whole(x)
    torch.testing.assert_close(mean, whole.running_mean)
    torch.testing.assert_close(unbiased_var, whole.running_var)


@pytest.mark.parametrize("group_size", [None, 4, 16])
def test_eval_equals_plain_bn(group_size):
    grouped, (ref,) = _grouped_and_reference(group_size or 4, 1)
    grouped.group_size = group_size
    grouped.eval()
    ref.eval()
    x = _clip_batch(12).detach()
    torch.testing.assert_close(grouped(x), ref(x), rtol=0, atol=0)


@pytest.mark.parametrize("batch, group_size", [(8, None), (8, 8), (6, 8)])
def test_training_without_grouping_equals_plain_bn(batch, group_size):
    grouped, (ref,) = _grouped_and_reference(group_size or 1, 1)
    grouped.group_size = group_size
    x = _clip_batch(batch).detach()
    torch.testing.assert_close(grouped(x), ref(x), rtol=0, atol=0)
    torch.testing.assert_close(grouped.running_mean, ref.running_mean, rtol=0, atol=0)
    torch.testing.assert_close(grouped.running_var, ref.running_var, rtol=0, atol=0)


def test_small_batch_warns_once(caplog):
    grouped, _ = _grouped_and_reference(group_size=7, num_refs=0)
    x = _clip_batch(3).detach()
    with caplog.at_level(logging.WARNING, logger="slowfast.models.norm"):
        grouped(x)
        grouped(x)
        grouped.eval()
        grouped(x)
    warnings = [r for r in caplog.records if "the 7 clips a BN statistic should cover" in r.getMessage()]
    assert len(warnings) == 1
    assert "batch of 3 clips" in warnings[0].getMessage()


def test_state_dict_is_a_batchnorm3d_state_dict():
    grouped = GroupedBatchNorm3d(CHANNELS, group_size=8)
    plain = nn.BatchNorm3d(CHANNELS)
    assert isinstance(grouped, nn.BatchNorm3d)
    assert list(grouped.state_dict()) == list(plain.state_dict())
    plain.running_mean.fill_(2.0)
    grouped.load_state_dict(plain.state_dict(), strict=True)
    assert torch.equal(grouped.running_mean, plain.running_mean)
    assert "group_size=8" in repr(grouped)


def test_group_size_must_be_positive():
    with pytest.raises(ValueError, match="group_size must be >= 1"):
        GroupedBatchNorm3d(CHANNELS, group_size=0)
    with pytest.raises(ValueError, match="reference_batch must be >= 1"):
        GroupedBatchNorm3d(CHANNELS, group_size=2, reference_batch=0)


# (batch, group_size at reference_batch 4, groups): groups grow with the batch, as many as at 4 clips.
SCALED_GROUPINGS = [
    (16, 2, [[j, j + 2, j + 4, j + 6, j + 8, j + 10, j + 12, j + 14] for j in range(2)]),
    (8, 1, [[j, j + 4] for j in range(4)]),
    (4, 2, [[0, 2], [1, 3]]),
]


@pytest.mark.parametrize("batch, group_size, groups", SCALED_GROUPINGS)
def test_groups_scaled_with_the_batch_equal_direct_per_group_computation(batch, group_size, groups):
    grouped, _ = _grouped_and_reference(group_size, 0)
    grouped.reference_batch = 4
    _assert_forward_and_backward_match_per_group_computation(grouped, batch, groups)
    assert "reference_batch=4" in repr(grouped)


@pytest.mark.parametrize("batch", [4, 16, 64])
def test_groups_as_large_as_the_reference_batch_make_plain_bn_at_every_batch(batch):
    grouped, (ref,) = _grouped_and_reference(4, 1)
    grouped.reference_batch = 4
    x = _clip_batch(batch).detach()
    torch.testing.assert_close(grouped(x), ref(x), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grouped.running_mean, ref.running_mean, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grouped.running_var, ref.running_var, rtol=1e-6, atol=1e-6)


def _layers_of_several_shapes(momentum=0.1):
    """Grouped BN layers of different widths, with distinct running stats; inputs of their own sizes."""
    torch.manual_seed(3)
    layers, inputs = [], []
    for channels, frames, size in [(3, 2, 4), (5, 4, 2), (3, 1, 3), (8, 2, 2)]:
        layer = GroupedBatchNorm3d(channels, momentum=momentum, group_size=2).train()
        with torch.no_grad():
            layer.running_mean.copy_(torch.randn(channels))
            layer.running_var.copy_(torch.rand(channels) + 0.5)
        layers.append(layer)
        inputs.append(torch.randn(8, channels, frames, size, size) * 3 + 1)
    return layers, inputs


def _queue_of(layers) -> RunningStatQueue:
    queue = RunningStatQueue()
    queue.attach(layers)
    return queue


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batched_running_stats_equal_one_by_one(momentum):
    one_by_one, inputs = _layers_of_several_shapes(momentum)
    batched, _ = _layers_of_several_shapes(momentum)
    expected = [layer(x) for layer, x in zip(one_by_one, inputs)]
    with _queue_of(batched).collecting():
        outputs = [layer(x) for layer, x in zip(batched, inputs)]
        # Queued, not yet made (with a fixed momentum): the buffers still hold the old values.
        assert all(int(layer.num_batches_tracked) == (0 if momentum else 1) for layer in batched)
    for expected_y, y, reference, layer in zip(expected, outputs, one_by_one, batched):
        torch.testing.assert_close(y, expected_y, rtol=0, atol=0)
        torch.testing.assert_close(layer.running_mean, reference.running_mean, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(layer.running_var, reference.running_var, rtol=1e-6, atol=1e-7)
        assert int(layer.num_batches_tracked) == 1


def test_batched_running_stats_of_a_layer_called_twice_follow_the_calls_in_order():
    (reference, *_), inputs = _layers_of_several_shapes()
    (layer, *_), _ = _layers_of_several_shapes()
    second = torch.randn_like(inputs[0]) - 2
    reference(inputs[0]), reference(second)
    with _queue_of([layer]).collecting():
        layer(inputs[0]), layer(second)
    torch.testing.assert_close(layer.running_mean, reference.running_mean, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(layer.running_var, reference.running_var, rtol=1e-6, atol=1e-7)
    assert int(layer.num_batches_tracked) == 2


def test_a_block_that_raises_updates_no_running_stats():
    layers, inputs = _layers_of_several_shapes()
    before = [layer.running_mean.clone() for layer in layers]
    queue = _queue_of(layers)
    with pytest.raises(RuntimeError, match="stop"), queue.collecting():
        [layer(x) for layer, x in zip(layers, inputs)]
        raise RuntimeError("stop")
    assert all(torch.equal(layer.running_mean, old) for layer, old in zip(layers, before))
    layers[0](inputs[0])  # after the block, updates are made at once again
    assert not torch.equal(layers[0].running_mean, before[0])


class _Widening(nn.Module):
    """Grouped BN layers of several widths in one forward (each after a 1x1x1 conv)."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.convs = nn.ModuleList(nn.Conv3d(a, b, 1) for a, b in [(3, 4), (4, 6), (6, 6)])
        self.norms = nn.ModuleList(GroupedBatchNorm3d(c, group_size=2) for c in (4, 6, 6))
        self.fail = fail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x = norm(conv(x))
            if self.fail:
                raise RuntimeError("stop")
        return x


def test_a_model_set_to_batch_its_updates_makes_them_at_the_end_of_each_forward():
    one_by_one, batched = _Widening(), _Widening()
    queue = batch_running_stat_updates(batched)
    assert batch_running_stat_updates(batched) is queue  # once per model
    assert all(norm.running_stat_queue is queue for norm in batched.norms)
    seen = []
    batched.norms[2].register_forward_hook(lambda *_: seen.append(int(batched.norms[0].num_batches_tracked)))
    x = torch.randn(8, 3, 2, 3, 3)
    for _ in range(2):
        torch.testing.assert_close(batched(x), one_by_one(x), rtol=0, atol=0)
    assert seen == [0, 1]  # queued during the forward, made at its end
    for ours, reference in zip(batched.norms, one_by_one.norms):
        torch.testing.assert_close(ours.running_mean, reference.running_mean, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(ours.running_var, reference.running_var, rtol=1e-6, atol=1e-7)
        assert int(ours.num_batches_tracked) == 2
    # Outside the model's forward (a layer called on its own) a layer updates at once.
    batched.norms[0](torch.randn(4, 4, 1, 2, 2))
    assert int(batched.norms[0].num_batches_tracked) == 3 and not queue.is_open


def test_a_forward_that_raises_makes_none_of_its_updates():
    model = _Widening(fail=True)
    batch_running_stat_updates(model)
    with pytest.raises(RuntimeError, match="stop"):
        model(torch.randn(8, 3, 2, 3, 3))
    model.fail = False
    model(torch.randn(8, 3, 2, 3, 3))  # the next forward drops the one left queued
    assert [int(norm.num_batches_tracked) for norm in model.norms] == [1, 1, 1]

"""GroupedBatchNorm3d: per-group statistics in training, plain BatchNorm3d otherwise."""
import logging

import pytest
import torch
import torch.nn as nn

from slowfast.models.norm import GroupedBatchNorm3d, set_bn_group_size

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


@pytest.mark.parametrize(
    "batch, group_size, bounds",
    [(8, 4, [0, 4, 8]), (12, 4, [0, 4, 8, 12]), (11, 4, [0, 4, 11]), (5, 2, [0, 2, 5])],
)
def test_training_equals_separate_bn_per_group(batch, group_size, bounds):
    grouped, refs = _grouped_and_reference(group_size, len(bounds) - 1)
    x = _clip_batch(batch)
    y = grouped(x)
    y_ref = torch.cat([ref(x[lo:hi]) for ref, lo, hi in zip(refs, bounds, bounds[1:])])
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)

    upstream = torch.randn_like(y)
    grads = torch.autograd.grad(y, [x, grouped.weight, grouped.bias], upstream)
    ref_params = [p for ref in refs for p in (ref.weight, ref.bias)]
    ref_grads = torch.autograd.grad(y_ref, [x, *ref_params], upstream)
    torch.testing.assert_close(grads[0], ref_grads[0], rtol=1e-4, atol=1e-5)
    # The groups share gamma and beta, so their gradients are the sum over the groups' BNs.
    torch.testing.assert_close(grads[1], sum(ref_grads[1::2]), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grads[2], sum(ref_grads[2::2]), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("momentum", [0.1, 1.0, None])
def test_running_stats_follow_aggregate_of_groups(momentum):
    grouped, _ = _grouped_and_reference(group_size=4, num_refs=0, momentum=momentum)
    start_mean, start_var = grouped.running_mean.clone(), grouped.running_var.clone()
    x = _clip_batch(11).detach()
    grouped(x)

    groups = [x[:4], x[4:]]  # the remainder of 3 joins the last group
    sizes = torch.tensor([4.0, 7.0])[:, None]
    means = torch.stack([g.mean(dim=(0, 2, 3, 4)) for g in groups])
    variances = torch.stack([g.var(dim=(0, 2, 3, 4), unbiased=False) for g in groups])
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
    warnings = [r for r in caplog.records if "BN_BASE_SIZE=7" in r.getMessage()]
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


def test_set_bn_group_size_changes_every_layer():
    inner = nn.Sequential(GroupedBatchNorm3d(3))
    model = nn.Sequential(GroupedBatchNorm3d(2), inner, nn.BatchNorm3d(4))
    assert set_bn_group_size(model, 4) == 2
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm3d)]
    assert [getattr(m, "group_size", "plain") for m in norms] == [4, 4, "plain"]

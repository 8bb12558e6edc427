"""Precise BN gives the population statistics fvcore's estimator gives, in one process."""
import copy

import torch
from fvcore.nn.precise_bn import update_bn_stats
from torch import nn

from slowfast.engine.precise_bn import recompute_bn_stats
from slowfast.models.norm import GroupedBatchNorm3d


def test_matches_fvcore_population_estimate_for_plain_and_grouped_bn():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv3d(3, 4, 1), GroupedBatchNorm3d(4, group_size=2), nn.Conv3d(4, 4, 1), nn.BatchNorm3d(4)
    )
    clips = [torch.randn(2, 3, 2, 4, 4) * (i + 1) + i for i in range(3)]
    reference = copy.deepcopy(model)
    update_bn_stats(reference, iter(clips), num_iters=3)
    recompute_bn_stats(model, ((c, None, None) for c in clips), 3, lambda c: c)
    for ours, theirs in zip(model.state_dict().values(), reference.state_dict().values()):
        if ours.is_floating_point():
            torch.testing.assert_close(ours, theirs)
    assert model[1].momentum == 0.1 and model.training

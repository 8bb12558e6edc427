"""build_model: registry by MODEL.MODEL_NAME, the model spec's checks, BN grouping from MULTIGRID."""
import pytest
import torch.nn as nn

from slowfast.models import build_model
from slowfast.models.build import MODEL_REGISTRY, register_model
from slowfast.models.norm import GroupedBatchNorm3d
from slowfast.models.video_model import ResNet, SlowFast
from slowfast.multigrid.schedule import schedule_spec


def _norms(model: nn.Module) -> list[nn.BatchNorm3d]:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm3d)]


def test_registry_holds_both_models(make_tiny_cfg):
    assert {"ResNet", "SlowFast"} <= set(MODEL_REGISTRY)
    assert type(build_model(make_tiny_cfg("i3d", 18))) is ResNet
    assert type(build_model(make_tiny_cfg("slowfast", 18))) is SlowFast


def test_unknown_model_name_lists_the_registered_ones(make_tiny_cfg):
    cfg = make_tiny_cfg("i3d", 18)
    cfg.MODEL.MODEL_NAME = "X3D"
    with pytest.raises(ValueError, match=r"MODEL.MODEL_NAME is 'X3D'; expected one of \['ResNet', 'SlowFast'\]"):
        build_model(cfg)


def test_register_model_rejects_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        register_model("ResNet")(lambda cfg: nn.Identity())


@pytest.mark.parametrize(
    "key, value, message",
    [
        # The config validation's messages: build_model checks through the same model spec.
        ("MODEL.ARCH", "slowfast", "MODEL.ARCH 'slowfast' does not go with MODEL.MODEL_NAME 'ResNet'"),
        ("RESNET.DEPTH", 34, r"RESNET.DEPTH is 34; expected one of \[18, 50, 101\]"),
        ("RESNET.TRANS_FUNC", "x3d_transform", "RESNET.TRANS_FUNC is 'x3d_transform'"),
        ("NONLOCAL.INSTANTIATION", "gaussian", "NONLOCAL.INSTANTIATION is 'gaussian'"),
        ("BN.NORM_TYPE", "sync_batchnorm", "BN.NORM_TYPE is 'sync_batchnorm'"),
        ("RESNET.SPATIAL_STRIDES", [[1], [2], [2]], "RESNET.SPATIAL_STRIDES must list 4 stages"),
        ("MODEL.NUM_CLASSES", 0, "MODEL.NUM_CLASSES must be >= 1"),
    ],
)
def test_bad_config_values_name_the_key(make_tiny_cfg, key, value, message):
    cfg = make_tiny_cfg("i3d", 50)
    node, leaf = key.split(".")
    setattr(getattr(cfg, node), leaf, value)
    with pytest.raises(ValueError, match=message):
        build_model(cfg)


def test_per_pathway_entries_missing_for_the_fast_pathway(make_tiny_cfg):
    cfg = make_tiny_cfg("slowfast", 18)
    cfg.NONLOCAL.GROUP = [[1, 1], [1, 1], [], [1, 1]]
    with pytest.raises(ValueError, match="NONLOCAL.GROUP has 0 entries for res4"):
        build_model(cfg)


def test_single_nonlocal_entries_serve_both_pathways(make_tiny_cfg):
    cfg = make_tiny_cfg("slowfast", 18)
    cfg.NONLOCAL.LOCATION = [[[], []], [[], []], [[1], [1]], [[], []]]
    cfg.NONLOCAL.GROUP = [[1], [1], [2], [1]]
    cfg.NONLOCAL.POOL = [[[1, 2, 2]], [[1, 2, 2]], [[1, 1, 1]], [[1, 2, 2]]]
    model = build_model(cfg)
    assert [spec.nonlocal_group for spec in model.s4.pathways] == [2, 2]
    assert model.s4.pathway0_nonlocal1.pool is None and model.s4.pathway1_nonlocal1.pool is None


def test_per_pathway_keys_need_one_entry_per_pathway(make_tiny_cfg):
    cfg = make_tiny_cfg("slowfast", 18)
    cfg.RESNET.SPATIAL_STRIDES = [[1], [2], [2], [1]]
    with pytest.raises(ValueError, match=r"RESNET.SPATIAL_STRIDES must list 4 stages x 2 pathway"):
        build_model(cfg)


def test_one_input_channel_entry_is_refused_for_two_pathways(make_tiny_cfg):
    cfg = make_tiny_cfg("slowfast", 18)
    cfg.DATA.INPUT_CHANNEL_NUM = [3]
    with pytest.raises(ValueError, match=r"DATA.INPUT_CHANNEL_NUM needs 2 entries for MODEL.ARCH slowfast, got \[3\]"):
        build_model(cfg)


def test_depth_18_uses_basic_blocks_of_standard_widths(make_tiny_cfg):
    model = build_model(make_tiny_cfg("c2d", 18, width=8))
    assert model.s2.pathway0_res0.branch2.a.weight.shape == (8, 8, 1, 3, 3)
    assert model.s5.pathway0_res1.branch2.b.weight.shape == (64, 64, 1, 3, 3)
    assert model.head.projection.in_features == 64


@pytest.mark.parametrize(
    "long_cycle, short_cycle, expected",
    [(False, False, None), (True, False, 8), (False, True, 8), (True, True, 8)],
)
def test_bn_groups_follow_multigrid(make_tiny_cfg, long_cycle, short_cycle, expected):
    cfg = make_tiny_cfg("slowfast", 18)
    cfg.MULTIGRID.LONG_CYCLE = long_cycle
    cfg.MULTIGRID.SHORT_CYCLE = short_cycle
    assert schedule_spec(cfg).bn_groups.base_size == expected
    norms = _norms(build_model(cfg))
    assert norms and all(type(m) is GroupedBatchNorm3d and m.group_size == expected for m in norms)
    assert all(m.eps == 1e-5 and m.momentum == 0.1 for m in norms)
    assert all(m.reference_batch is None for m in norms)


@pytest.mark.parametrize("long_cycle, num_shards, expected", [(False, 1, None), (True, 1, 8), (True, 2, 8)])
def test_bn_groups_grow_with_the_batch_under_values_grouping(make_tiny_cfg, long_cycle, num_shards, expected):
    cfg = make_tiny_cfg("slowfast", 18)
    cfg.MULTIGRID.LONG_CYCLE = long_cycle
    cfg.MULTIGRID.BN_GROUPING = "values"
    cfg.TRAIN.BATCH_SIZE, cfg.NUM_SHARDS = 8, num_shards
    assert schedule_spec(cfg).bn_groups.reference_batch == expected
    assert all(m.reference_batch == expected for m in _norms(build_model(cfg)))


@pytest.mark.parametrize("long_cycle, short_cycle", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("grouping", ["clips", "values"])
def test_the_model_and_the_schedule_follow_one_bn_group_policy(make_tiny_cfg, long_cycle, short_cycle, grouping):
    from slowfast.multigrid.schedule import make_schedule

    cfg = make_tiny_cfg("slow", 18)
    cfg.MULTIGRID.LONG_CYCLE, cfg.MULTIGRID.SHORT_CYCLE, cfg.MULTIGRID.BN_GROUPING = long_cycle, short_cycle, grouping
    groups = schedule_spec(cfg).bn_groups
    schedule = make_schedule(schedule_spec(cfg))
    norms = _norms(build_model(cfg))
    assert {(m.group_size, m.reference_batch) for m in norms} == {(groups.base_size, groups.reference_batch)}
    for stage in schedule.stages:  # what the sampler shares ranks by, per batch
        for batch in stage.short_cycle_batch_sizes:
            assert schedule.bn_group_size(batch) == groups.group_size(batch)
            assert (schedule.bn_group_size(batch) is None) == (not (long_cycle or short_cycle))


def test_model_is_built_on_cpu(make_tiny_cfg):
    model = build_model(make_tiny_cfg("slow", 18))
    assert {p.device.type for p in model.parameters()} == {"cpu"}

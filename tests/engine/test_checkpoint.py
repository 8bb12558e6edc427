"""Checkpoint layout, atomic save, strict loading, resume fallback and the weights_only guard
(tests/engine/test_resume.py: the mid-epoch checkpoint and the choice of what to resume)."""
import logging
import os
import stat
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from slowfast.engine import checkpoint as ckpt

CFG_YAML = "MODEL:\n  NUM_CLASSES: 5\n"


class NotAWeight:
    """A custom class: pickling it makes a checkpoint that weights_only loading must refuse."""


def tiny_model(num_classes: int = 5, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    head = nn.Sequential(OrderedDict(
        pool=nn.AdaptiveAvgPool3d(1), flatten=nn.Flatten(), projection=nn.Linear(4, num_classes)))
    stem = nn.Sequential(OrderedDict(conv=nn.Conv3d(3, 4, 1), bn=nn.BatchNorm3d(4)))
    return nn.Sequential(OrderedDict(stem=stem, head=head))


def trained(model: nn.Module) -> torch.optim.Optimizer:
    """One SGD step with momentum so weights, BN statistics and optimizer state are non-trivial."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = model(torch.randn(2, 3, 2, 4, 4)).sum()
    loss.backward()
    optimizer.step()
    return optimizer


def assert_same_weights(a: nn.Module, b: nn.Module, skip_prefix: str = "^") -> None:
    state_b = b.state_dict()
    for key, value in a.state_dict().items():
        if not key.startswith(skip_prefix):
            assert torch.equal(value, state_b[key]), key


def test_paths_follow_pyslowfast_layout(tmp_path):
    assert ckpt.checkpoint_dir(tmp_path) == tmp_path / "checkpoints"
    assert ckpt.checkpoint_path(tmp_path, 0).name == "checkpoint_epoch_00001.pyth"
    assert ckpt.checkpoint_path(str(tmp_path), 99).name == "checkpoint_epoch_00100.pyth"
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        ckpt.checkpoint_path(tmp_path, -1)


def test_save_load_round_trip(tmp_path):
    model = tiny_model()
    optimizer = trained(model)
    trainer_state = {"global_iter": 12, "stage": [1, 2], "name": "long", "lr_scale": 0.5,
                     "shape": {"frames": 8, "crop": 224}, "done": None}
    path = ckpt.save_checkpoint(tmp_path, 3, model, optimizer, CFG_YAML, trainer_state)

    assert path == tmp_path / "checkpoints" / "checkpoint_epoch_00004.pyth"
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind
    contents = ckpt.load_checkpoint_file(path)
    assert contents["epoch"] == 3
    assert contents["cfg"] == CFG_YAML
    assert contents["trainer_state"] == trainer_state
    assert "rng_state" not in contents and "scaler_state" not in contents

    fresh = tiny_model(seed=1)
    fresh_optimizer = torch.optim.SGD(fresh.parameters(), lr=0.5, momentum=0.9)
    resumed = ckpt.resume_latest(tmp_path, fresh, fresh_optimizer, CFG_YAML)

    assert (resumed["epoch"], resumed["start_batch"]) == (4, 0)  # the epoch to run next
    assert resumed["trainer_state"] == trainer_state
    assert resumed["path"] == path
    assert_same_weights(model, fresh)
    assert fresh.stem.bn.num_batches_tracked.item() == 1
    assert fresh_optimizer.param_groups[0]["lr"] == 0.1
    for p_old, p_new in zip(model.parameters(), fresh.parameters()):
        old = optimizer.state[p_old]["momentum_buffer"]
        assert torch.equal(old, fresh_optimizer.state[p_new]["momentum_buffer"])


def test_rng_state_round_trip(tmp_path):
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.manual_seed(7)
    np.random.seed(7)
    ckpt.save_checkpoint(tmp_path, 0, model, optimizer, CFG_YAML, {},
                         rng_state=ckpt.capture_rng_state())
    expected = (torch.rand(3), np.random.rand(3), __import__("random").random())

    torch.manual_seed(99)
    np.random.seed(99)
    resumed = ckpt.resume_latest(tmp_path, model, optimizer, CFG_YAML)
    ckpt.restore_rng_state(resumed["rng_state"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert __import__("random").random() == expected[2]


def test_trainer_state_must_be_plain_python(tmp_path):
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"trainer_state\['step'\] is a Tensor"):
        ckpt.save_checkpoint(tmp_path, 0, model, optimizer, CFG_YAML, {"step": torch.tensor(1)})
    with pytest.raises(TypeError, match=r"trainer_state\['best'\]\[1\] is a float64"):
        ckpt.save_checkpoint(tmp_path, 0, model, optimizer, CFG_YAML,
                             {"best": [1.0, np.float64(2)]})
    assert ckpt.list_checkpoints(tmp_path) == []


def test_hook_state_may_hold_tensors_and_plain_python_only(tmp_path):
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"^hooks\['Meter'\]\['sum'\] is a float64; a checkpoint's hook state may "
                                        r"only hold tensors, None/bool"):
        ckpt.save_checkpoint(tmp_path, 0, model, optimizer, CFG_YAML, {}, hooks={"Meter": {"sum": np.float64(2)}})
    hooks = {"WeightEMA": {"updates": 3, "average": {"w": torch.arange(4.0)}}}
    path = ckpt.save_checkpoint(tmp_path, 0, model, optimizer, CFG_YAML, {}, hooks=hooks)
    saved = ckpt.load_checkpoint_file(path)["hooks"]
    assert saved["WeightEMA"]["updates"] == 3 and torch.equal(saved["WeightEMA"]["average"]["w"], torch.arange(4.0))


def test_checkpoints_sorted_by_epoch_number_not_name(tmp_path):
    folder = ckpt.checkpoint_dir(tmp_path)
    folder.mkdir()
    for name in ["checkpoint_epoch_100.pyth", "checkpoint_epoch_9.pyth", "checkpoint_epoch_10.pyth",
                 ".checkpoint_epoch_00200.pyth.abc.tmp", "notes.txt", "checkpoint_epoch_x.pyth"]:
        (folder / name).write_bytes(b"")
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names == ["checkpoint_epoch_9.pyth", "checkpoint_epoch_10.pyth",
                     "checkpoint_epoch_100.pyth"]
    assert ckpt.find_last_checkpoint(tmp_path).name == "checkpoint_epoch_100.pyth"


def test_saved_epochs_9_10_100_come_back_in_order(tmp_path):
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in (99, 8, 9):
        ckpt.save_checkpoint(tmp_path, epoch, model, optimizer, CFG_YAML, {"epoch": epoch})
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names == ["checkpoint_epoch_00009.pyth", "checkpoint_epoch_00010.pyth",
                     "checkpoint_epoch_00100.pyth"]
    assert ckpt.resume_latest(tmp_path, model, optimizer, CFG_YAML)["epoch"] == 100


def test_no_checkpoint_means_no_resume(tmp_path):
    model = tiny_model()
    assert ckpt.find_last_checkpoint(tmp_path) is None
    assert ckpt.resume_latest(tmp_path, model, torch.optim.SGD(model.parameters(), lr=0.1), CFG_YAML) is None


def test_torn_newest_checkpoint_falls_back_to_previous(tmp_path, caplog):
    model = tiny_model()
    optimizer = trained(model)
    ckpt.save_checkpoint(tmp_path, 0, model, optimizer, CFG_YAML, {"it": 1})
    good_weights = {k: v.clone() for k, v in model.state_dict().items()}
    trained(model)
    newest = ckpt.save_checkpoint(tmp_path, 1, model, optimizer, CFG_YAML, {"it": 2})
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])

    fresh = tiny_model(seed=3)
    with caplog.at_level(logging.ERROR, logger="slowfast.engine.checkpoint"):
        resumed = ckpt.resume_latest(tmp_path, fresh, torch.optim.SGD(fresh.parameters(), lr=0.1), CFG_YAML)
    assert resumed["epoch"] == 1 and resumed["trainer_state"] == {"it": 1}
    assert str(newest) in caplog.text
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, good_weights[key]), key


def test_all_checkpoints_unreadable_is_an_error(tmp_path):
    folder = ckpt.checkpoint_dir(tmp_path)
    folder.mkdir()
    (folder / "checkpoint_epoch_00001.pyth").write_bytes(b"garbage")
    model = tiny_model()
    with pytest.raises(ckpt.CheckpointError, match="no readable checkpoint"):
        ckpt.resume_latest(tmp_path, model, torch.optim.SGD(model.parameters(), lr=0.1), CFG_YAML)


def test_pickle_needing_custom_code_is_refused(tmp_path):
    path = tmp_path / "unsafe.pyth"
    torch.save({"model_state": tiny_model().state_dict(), "extra": NotAWeight()}, path)
    with pytest.raises(ckpt.CheckpointError, match="weights_only") as err:
        ckpt.load_checkpoint_file(path)
    assert str(path) in str(err.value)
    with pytest.raises(ckpt.CheckpointError):
        ckpt.load_pretrained(path, tiny_model())


def test_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        ckpt.load_checkpoint_file(tmp_path / "nope.pyth")


def test_head_with_other_class_count_is_reinitialised_and_logged(tmp_path, caplog):
    source = tiny_model(num_classes=5, seed=0)
    path = tmp_path / "k400.pyth"
    torch.save({"model_state": source.state_dict(), "epoch": 195}, path)
    target = tiny_model(num_classes=3, seed=1)
    head_before = target.head.projection.weight.clone()

    with caplog.at_level(logging.INFO, logger="slowfast.engine.checkpoint"):
        report = ckpt.load_pretrained(path, target)

    assert "head.projection re-initialised: checkpoint has 5 classes, model 3" in caplog.text
    assert report.reinitialised == ("head.projection.weight", "head.projection.bias")
    assert "stem.conv.weight" in report.loaded and report.ignored == ()
    assert torch.equal(target.head.projection.weight, head_before)
    assert_same_weights(source, target, skip_prefix="head.")


def test_reinit_head_leaves_a_same_size_classifier_at_its_init_and_says_so(tmp_path, caplog):
    source = tiny_model(num_classes=3, seed=0)
    path = tmp_path / "kinetics_synthetic.pyth"
    torch.save({"model_state": source.state_dict()}, path)
    target = tiny_model(num_classes=3, seed=1)
    head_before = target.head.projection.weight.clone()

    with caplog.at_level(logging.INFO, logger="slowfast.engine.checkpoint"):
        report = ckpt.load_pretrained(path, target, reinit_head=True)

    assert caplog.text.count("head.projection re-initialised") == 1
    assert "head.projection re-initialised: not loaded, as asked" in caplog.text
    assert report.reinitialised == ("head.projection.weight", "head.projection.bias")
    assert not any(k.startswith("head.projection.") for k in report.loaded)
    assert torch.equal(target.head.projection.weight, head_before)
    assert_same_weights(source, target, skip_prefix="head.")


def test_head_mismatch_without_allowance_raises_naming_the_key(tmp_path):
    path = tmp_path / "k400.pyth"
    torch.save({"model_state": tiny_model(num_classes=5).state_dict()}, path)
    target = tiny_model(num_classes=3, seed=1)
    conv_before = target.stem.conv.weight.clone()
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.load_pretrained(path, target, reset_head_if_classes_differ=False)
    assert "head.projection.weight (checkpoint (5, 4), model (3, 4))" in str(err.value)
    assert str(path) in str(err.value)
    assert torch.equal(target.stem.conv.weight, conv_before)  # nothing half-loaded


def test_missing_and_unexpected_keys_are_errors_outside_the_allow_list():
    state = tiny_model().state_dict()
    del state["stem.conv.bias"]
    state["stem.extra.weight"] = torch.zeros(1)
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.load_model_state(tiny_model(), state, allow_missing_prefixes=("head.projection.",))
    assert "missing keys [stem.conv.bias]" in str(err.value)
    assert "unexpected keys [stem.extra.weight]" in str(err.value)


def test_absent_num_batches_tracked_is_tolerated():
    source = tiny_model(seed=0)
    state = {k: v for k, v in source.state_dict().items() if "num_batches_tracked" not in k}
    target = tiny_model(seed=1)
    report = ckpt.load_model_state(target, state)
    assert report.reinitialised == ("stem.bn.num_batches_tracked",)
    assert_same_weights(source, target)


def test_module_prefix_is_stripped_on_load_and_never_saved(tmp_path):
    source = tiny_model(seed=0)
    prefixed = {f"module.{k}": v for k, v in source.state_dict().items()}
    target = tiny_model(seed=1)
    report = ckpt.load_model_state(target, prefixed)
    assert "stem.conv.weight" in report.loaded
    assert_same_weights(source, target)

    wrapped = nn.DataParallel(tiny_model(seed=2))
    assert next(iter(wrapped.state_dict())).startswith("module.")
    optimizer = torch.optim.SGD(wrapped.parameters(), lr=0.1)
    path = ckpt.save_checkpoint(tmp_path, 0, wrapped, optimizer, CFG_YAML, {})
    saved_keys = list(ckpt.load_checkpoint_file(path)["model_state"])
    assert saved_keys == list(tiny_model().state_dict())

    into_wrapped = nn.DataParallel(tiny_model(seed=3))
    ckpt.resume_latest(tmp_path, into_wrapped, torch.optim.SGD(into_wrapped.parameters(), lr=0.1), CFG_YAML)
    assert_same_weights(wrapped.module, into_wrapped.module)


def test_pretrained_accepts_a_bare_state_dict(tmp_path):
    source = tiny_model(seed=0)
    path = tmp_path / "bare.pth"
    torch.save(source.state_dict(), path)
    target = tiny_model(seed=1)
    report = ckpt.load_pretrained(path, target)
    assert report.reinitialised == ()
    assert_same_weights(source, target)


def test_pretrained_rejects_a_dict_without_weights(tmp_path):
    path = tmp_path / "odd.pyth"
    torch.save({"weights": {"a": torch.zeros(1)}, "epoch": 1}, path)
    with pytest.raises(ckpt.CheckpointError, match=r"no 'model_state'.*\[epoch, weights\]"):
        ckpt.load_pretrained(path, tiny_model())


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_checkpoint_file_mode_follows_the_umask_like_an_ordinary_file(tmp_path, umask):
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    old = os.umask(umask)
    try:
        path = ckpt.save_checkpoint(tmp_path, 0, model, optimizer, CFG_YAML, {})
        ordinary = tmp_path / "ordinary.txt"
        ordinary.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(ordinary.stat().st_mode) == 0o666 & ~umask

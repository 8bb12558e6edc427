"""Caffe2 model-zoo pickles: PySlowFast's name rules, refusal of code-running pickles, 2D->3D inflation."""
import os
import pickle
import re

import numpy as np
import pytest
import torch

from slowfast.engine import checkpoint as ckpt
from slowfast.engine.caffe2_weights import (
    caffe2_to_pytorch_name,
    inflate_state,
    load_pretrained_weights,
    read_caffe2_blobs,
)
from slowfast.models import build_model

BN = {"weight": "s", "bias": "b", "running_mean": "rm", "running_var": "riv"}


def to_caffe2_name(key: str) -> str | None:
    """The inverse of the rules, for building model-zoo style files from our models' state dicts."""
    if key.endswith("num_batches_tracked"):
        return None
    module, param = key.rsplit(".", 1)
    rules = [
        (r"s1\.pathway(\d)_stem\.conv", lambda m: f"{'t_' * int(m[1])}conv1"),
        (r"s1\.pathway(\d)_stem\.bn", lambda m: f"{'t_' * int(m[1])}res_conv1_bn"),
        (r"s1_fuse\.conv_f2s", lambda m: "t_pool1_subsample"),
        (r"s1_fuse\.bn", lambda m: "t_pool1_subsample_bn"),
        (r"s(\d)_fuse\.conv_f2s", lambda m: f"t_res{m[1]}_0_branch2c_bn_subsample"),
        (r"s(\d)_fuse\.bn", lambda m: f"t_res{m[1]}_0_branch2c_bn_subsample_bn"),
        (r"s(\d)\.pathway(\d)_res(\d+)\.branch1", lambda m: f"{'t_' * int(m[2])}res{m[1]}_{m[3]}_branch1"),
        (r"s(\d)\.pathway(\d)_res(\d+)\.branch1_bn", lambda m: f"{'t_' * int(m[2])}res{m[1]}_{m[3]}_branch1_bn"),
        (r"s(\d)\.pathway(\d)_res(\d+)\.branch2\.([abc])",
         lambda m: f"{'t_' * int(m[2])}res{m[1]}_{m[3]}_branch2{m[4]}"),
        (r"s(\d)\.pathway(\d)_res(\d+)\.branch2\.([abc])_bn",
         lambda m: f"{'t_' * int(m[2])}res{m[1]}_{m[3]}_branch2{m[4]}_bn"),
        (r"head\.projection", lambda m: "pred"),
    ]
    for pattern, name in rules:
        match = re.fullmatch(pattern, module)
        if match:
            base = name(match)
            return f"{base}_{BN[param]}" if base.endswith("_bn") else f"{base}_{param[0]}"
    raise AssertionError(f"no Caffe2 name for {key}")


def write_model_zoo_file(path, state: dict) -> None:
    blobs = {to_caffe2_name(k): v.numpy() for k, v in state.items() if to_caffe2_name(k)}
    blobs.update({"lr": np.array(0.1), "model_iter": np.array(1000), "pred_w_momentum": np.zeros(3)})
    path.write_bytes(pickle.dumps({"blobs": blobs}, protocol=2))


def test_reference_name_rules():
    expected = {
        "conv1_w": "s1.pathway0_stem.conv.weight",
        "t_res_conv1_bn_riv": "s1.pathway1_stem.bn.running_var",
        "res2_0_branch2a_bn_s": "s2.pathway0_res0.branch2.a_bn.weight",
        "t_res5_2_branch2c_w": "s5.pathway1_res2.branch2.c.weight",
        "res3_0_branch1_bn_rm": "s3.pathway0_res0.branch1_bn.running_mean",
        "t_pool1_subsample_w": "s1_fuse.conv_f2s.weight",
        "t_pool1_subsample_bn_b": "s1_fuse.bn.bias",
        "t_res3_3_branch2c_bn_subsample_w": "s3_fuse.conv_f2s.weight",
        "t_res4_5_branch2c_bn_subsample_bn_s": "s4_fuse.bn.weight",
        "nonlocal_conv3_1_theta_w": "s3.pathway0_nonlocal1.conv_theta.weight",
        "nonlocal_conv4_5_out_b": "s4.pathway0_nonlocal5.conv_out.bias",
        "nonlocal_conv3_1_bn_riv": "s3.pathway0_nonlocal1.bn.running_var",
        "pred_w": "head.projection.weight",
        "pred_b": "head.projection.bias",
        "lr": None, "model_iter": None, "res2_0_branch2a_w_momentum": None,
        "something_else": "something_else",  # unconverted: the load reports it as unexpected
    }
    assert {name: caffe2_to_pytorch_name(name) for name in expected} == expected


class RunsCode:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("payload", ["os.system", "eval", "class"])
def test_pickle_that_would_run_code_is_refused_before_running(tmp_path, payload):
    marker = tmp_path / "was_run"
    bad = {"os.system": RunsCode(f"touch {marker}"), "eval": None, "class": ckpt.LoadReport((), (), ())}[payload]
    if payload == "eval":
        class Evaluates:
            def __reduce__(self):
                return eval, (f"open({str(marker)!r}, 'w')",)

        bad = Evaluates()
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"blobs": {"conv1_w": np.zeros(2), "x": bad}}, protocol=2))
    with pytest.raises(ckpt.CheckpointError, match=r"refusing to load .*model\.pkl': the pickle asks for "
                       r"(posix\.system|__builtin__\.eval|slowfast\.engine\.checkpoint\.model_state\.LoadReport), "
                       r"which could execute code"):
        read_caffe2_blobs(path)
    assert not marker.exists()


def test_non_numeric_or_malformed_files_are_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"blobs": {"conv1_w": np.array(["a"], dtype=object)}}, protocol=2))
    with pytest.raises(ckpt.CheckpointError, match=r"blob 'conv1_w' is a ndarray, not a numeric array"):
        read_caffe2_blobs(path)
    path.write_bytes(pickle.dumps({"blobs": {"conv1_w": np.ones(3)}})[:10])
    with pytest.raises(ckpt.CheckpointError, match="cannot read Caffe2 checkpoint"):
        read_caffe2_blobs(path)


def test_model_zoo_file_loads_into_the_model_and_a_new_class_count_reinitialises_the_head(make_cfg, tmp_path):
    source = build_model(make_cfg())
    state = source.state_dict()
    path = tmp_path / "SLOWFAST_TINY.pkl"
    write_model_zoo_file(path, state)

    target = build_model(make_cfg({"MODEL.NUM_CLASSES": 5}))
    report = load_pretrained_weights(path, target, "caffe2")
    # Caffe2 files have no BatchNorm step counters: those stay at 0 too.
    reinitialised = {k for k in report.reinitialised if not k.endswith("num_batches_tracked")}
    assert reinitialised == {"head.projection.weight", "head.projection.bias"}
    assert report.ignored == ()
    loaded = target.state_dict()
    for key, value in state.items():
        if not key.startswith("head.") and not key.endswith("num_batches_tracked"):
            assert torch.equal(loaded[key], value), key

    with pytest.raises(ckpt.CheckpointError, match=r"shape mismatches \[head\.projection\.weight"):
        load_pretrained_weights(path, build_model(make_cfg({"MODEL.NUM_CLASSES": 5})), "caffe2",
                                reset_head_if_classes_differ=False)  # testing needs the trained head

    blobs = pickle.loads(path.read_bytes())["blobs"]
    blobs["res9_0_branch2a_w"] = np.zeros(3, dtype=np.float32)
    path.write_bytes(pickle.dumps({"blobs": blobs}, protocol=2))
    with pytest.raises(ckpt.CheckpointError, match=r"unexpected keys \[s9\.pathway0_res0\.branch2\.a\.weight\]"):
        load_pretrained_weights(path, build_model(make_cfg()), "caffe2")
    with pytest.raises(ckpt.CheckpointError, match="CHECKPOINT_TYPE must be 'pytorch' or 'caffe2'"):
        load_pretrained_weights(path, target, "tensorflow")


def test_2d_weights_inflate_into_the_3d_model(make_cfg, tmp_path):
    model = build_model(make_cfg())
    model_state = model.state_dict()
    image_state = {k: (v.sum(dim=2) if v.dim() == 5 else v.clone()) for k, v in model_state.items()}
    key = "s1.pathway1_stem.conv.weight"  # the fast stem has a temporal kernel of 5
    frames = model_state[key].shape[2]
    assert frames == 5 and image_state[key].dim() == 4

    inflated = inflate_state(image_state, model_state)
    assert torch.equal(inflated[key], image_state[key].unsqueeze(2).repeat(1, 1, frames, 1, 1) / frames)
    # A constant clip gives the 2D filter's response: the temporal sum is the image weight.
    torch.testing.assert_close(inflated[key].sum(dim=2), image_state[key])

    path = tmp_path / "image.pyth"
    torch.save({"model_state": image_state}, path)
    with pytest.raises(ckpt.CheckpointError, match="shape mismatches"):
        load_pretrained_weights(path, build_model(make_cfg()), "pytorch", inflate=False)
    target = build_model(make_cfg())
    report = load_pretrained_weights(path, target, "pytorch", inflate=True)
    assert report.reinitialised == ()
    assert torch.equal(target.state_dict()[key], inflated[key])

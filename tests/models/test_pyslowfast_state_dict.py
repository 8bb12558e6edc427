"""Full-width Kinetics models have exactly PySlowFast's state-dict names, shapes and sizes."""
import json
from pathlib import Path

import pytest
import torch

from slowfast.models import build_model
from slowfast.models.complexity import count_parameters
from slowfast.models.norm import GroupedBatchNorm3d

# PySlowFast state-dict listings (name, shape, dtype), copied from the project reference.
REFERENCE_DIR = Path(__file__).resolve().parent / "data"
PARAMETER_COUNTS = {
    "SLOWFAST_8x8_R50": 34_566_488,
    "I3D_8x8_R50": 28_043_472,
    "I3D_NLN_8x8_R50": 35_401_936,
}


def _reference(name: str) -> dict:
    return json.loads((REFERENCE_DIR / f"state_dict_{name}.json").read_text())


@pytest.mark.parametrize("name", sorted(PARAMETER_COUNTS))
def test_state_dict_and_parameter_count_equal_pyslowfast(kinetics_cfg, name):
    reference = _reference(name)
    model = build_model(kinetics_cfg(name))
    ours = [
        [key, list(tensor.shape), str(tensor.dtype).removeprefix("torch.")]
        for key, tensor in model.state_dict().items()
    ]
    assert ours == reference["entries"]
    assert count_parameters(model) == PARAMETER_COUNTS[name]
    assert PARAMETER_COUNTS[name] == reference["num_trainable_parameters"]

    # A PySlowFast checkpoint of this model loads strictly.
    checkpoint = {
        "model_state": {
            key: torch.randn(shape) if dtype == "float32" else torch.tensor(7)
            for key, shape, dtype in reference["entries"]
        }
    }
    model.load_state_dict(checkpoint["model_state"], strict=True)
    loaded = checkpoint["model_state"]["head.projection.weight"]
    assert torch.equal(model.head.projection.weight, loaded)


def test_multigrid_model_has_the_same_state_dict(kinetics_cfg):
    cfg = kinetics_cfg("SLOWFAST_8x8_R50")
    cfg.MULTIGRID.LONG_CYCLE = True
    cfg.MULTIGRID.SHORT_CYCLE = True
    model = build_model(cfg)
    shapes = [[key, list(t.shape)] for key, t in model.state_dict().items()]
    assert shapes == [entry[:2] for entry in _reference("SLOWFAST_8x8_R50")["entries"]]
    norms = [m for m in model.modules() if isinstance(m, GroupedBatchNorm3d)]
    assert len(norms) == sum(key.endswith("running_mean") for key, _ in shapes)
    assert {m.group_size for m in norms} == {cfg.MULTIGRID.BN_BASE_SIZE}

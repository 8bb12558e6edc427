"""python projects/multigrid/results/design/bn_values_per_statistic.py [--cfg FILE] [KEY VALUE ...]

For every shape of a config's multigrid schedule (one device), the fewest values (clips x T x H x
W) any BN statistic of the model covers in one training forward, under MULTIGRID.BN_GROUPING
"clips" and "values", next to the full shape's. Found by running the model on random inputs."""
import argparse

import torch

from slowfast.config import load_config
from slowfast.engine.inputs import input_shapes
from slowfast.models import build_model
from slowfast.models.norm import GroupedBatchNorm3d
from slowfast.models.spec import model_spec
from slowfast.multigrid.schedule import build_schedule
from slowfast.utils.bn_groups import clips_per_statistic


def fewest_values(model: torch.nn.Module, inputs: list[torch.Tensor]) -> tuple[int, str]:
    """The smallest clips-per-group x T x H x W over the model's BN layers, and that layer's name."""
    counts: list[tuple[int, str]] = []

    def record(name):
        def hook(layer, args):
            x = args[0]
            group = min(clips_per_statistic(x.shape[0], layer.group_size, layer.reference_batch), x.shape[0])
            counts.append((group * x[0, 0].numel(), name))
        return hook

    handles = [layer.register_forward_pre_hook(record(name))
               for name, layer in model.named_modules() if isinstance(layer, GroupedBatchNorm3d)]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return min(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cfg", default="configs/Synthetic/SLOWFAST_R18_MG.yaml")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    print(f"{args.cfg} {' '.join(args.overrides)}")
    print("frames x crop | batch | fewest values per BN statistic: clips | values | layer")
    rows = {}
    for grouping in ("clips", "values"):
        cfg = load_config(args.cfg, [*args.overrides, "MULTIGRID.BN_GROUPING", grouping])
        torch.manual_seed(0)
        model = build_model(cfg).train()
        for stage in build_schedule(cfg).stages:
            for shape, batch in zip(stage.short_cycle_shapes, stage.short_cycle_batch_sizes):
                key = (shape.num_frames, shape.crop_size, batch)
                if (grouping, key) in rows:
                    continue
                shapes = input_shapes(model_spec(cfg), shape.num_frames, shape.crop_size)
                inputs = [torch.randn(batch, *s) for s in shapes]
                rows[grouping, key] = fewest_values(model, inputs)
    for key in sorted({key for _, key in rows}, key=lambda k: (k[0] * k[1] ** 2, k[2])):
        clips, layer = rows["clips", key]
        values, _ = rows["values", key]
        print(f"{key[0]}x{key[1]} | {key[2]} | {clips} | {values} | {layer}")


if __name__ == "__main__":
    main()

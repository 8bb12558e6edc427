"""python projects/multigrid/results/design/precise_bn_batches.py RUN_DIR [NUM_BATCHES ...] [--orders K]

Test top-1 of a finished run's last checkpoint after recomputing BN statistics (precise BN, at the
full shape and the config's TRAIN.BATCH_SIZE, as before the run's own test) over NUM_BATCHES
training batches, for K random orders each: how much of a run's final accuracy is the precise-BN
sample. One process, CPU."""
import argparse

import torch

from slowfast.config import load_config
from slowfast.datasets.build import build_dataset
from slowfast.datasets.loader import build_eval_loader, build_train_loader
from slowfast.datasets.spec import data_spec
from slowfast.engine.checkpoint.files import find_last_checkpoint, load_checkpoint_file
from slowfast.engine.checkpoint.model_state import load_model_state
from slowfast.engine.evaluator import run_views
from slowfast.engine.inputs import InputPreparer
from slowfast.engine.metrics import ViewEnsemble
from slowfast.engine.precise_bn import recompute_bn_stats
from slowfast.engine.solver_spec import solver_spec
from slowfast.models import build_model
from slowfast.models.spec import model_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("num_batches", nargs="*", type=int, default=[10, 100])
    parser.add_argument("--orders", type=int, default=3)
    args = parser.parse_args()
    cfg = load_config(f"{args.run_dir}/config.yaml", ["NUM_GPUS", "0", "DATA_LOADER.NUM_WORKERS", "0"])
    device = torch.device("cpu")
    path = find_last_checkpoint(args.run_dir)
    weights = load_checkpoint_file(path)["model_state"]
    data = data_spec(cfg)
    train_set, test_set = build_dataset(data, "train"), build_dataset(data, "test")
    prepare = InputPreparer(model_spec(cfg), data, solver_spec(cfg).memory_format, device)
    shape = train_set.options.full_train_shape
    print(f"{path}: test top-1 after precise BN over N batches of {cfg.TRAIN.BATCH_SIZE} clips at {shape}")
    for num_batches in args.num_batches:
        accuracies = []
        for order_seed in range(args.orders):
            model = build_model(cfg)
            load_model_state(model, weights)
            order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(1000 + order_seed))
            size = cfg.TRAIN.BATCH_SIZE
            batches = [[(int(order[b * size + p]), shape, 0) for p in range(size)] for b in range(num_batches)]
            loader = build_train_loader(train_set, batches, 0, False, seed=order_seed, persistent=False)
            recompute_bn_stats(model, loader, num_batches, prepare)
            model.eval()
            ensemble = ViewEnsemble(test_set.num_videos, 1, cfg.MODEL.NUM_CLASSES, cfg.DATA.ENSEMBLE_METHOD)
            loader = build_eval_loader(test_set, cfg.TEST.BATCH_SIZE, 0, False, rank=0, world_size=1)
            results = run_views(model, loader, prepare, ensemble, cfg.MODEL.HEAD_ACT, log_period=10**9)
            accuracies.append(results["top1"])
        print(f"N = {num_batches}: " + ", ".join(f"{a:.2f}" for a in accuracies))


if __name__ == "__main__":
    main()

"""Two gloo processes on the CPU train a multigrid schedule exactly like one process on the union.

Each rank takes its share of every global batch (bn_groups.rank_share) and the BN groups
(MULTIGRID.BN_BASE_SIZE clips) either pool both ranks (per-device batch below the base size) or
stay inside a rank (above it), the groups one process forms. With the augmentation drawn from
(seed, index, epoch), the two-rank run must then end
every epoch with the weights of a one-process run on the same global batches.
"""
import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from slowfast.engine import launch
from slowfast.engine import trainer as trainer_module
from slowfast.engine.epoch_hooks import PreciseBN
from slowfast.engine.launch import run
from slowfast.engine.run_spec import build_run_spec
from slowfast.multigrid.schedule import build_schedule
from slowfast.utils import distributed
from slowfast.utils.bn_groups import rank_share
from slowfast.utils.distributed import unwrap

pytestmark = pytest.mark.slow  # two spawned gloo processes per test

MG_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml")
# Global batch 4 with BN_BASE_SIZE 4: 2 clips per rank at the base shape (BN pools both ranks),
# up to 16 per rank at the small short-cycle and long-cycle shapes (BN groups inside a rank).
MULTIGRID = {
    "MULTIGRID.LONG_CYCLE": True,
    "MULTIGRID.SHORT_CYCLE": True,
    "MULTIGRID.LONG_CYCLE_FACTORS": [[0.5, 0.7071], [1, 1]],
    "MULTIGRID.EPOCH_FACTOR": 1.0,
    "MULTIGRID.BN_BASE_SIZE": 4,
    "MULTIGRID.EVAL_FREQ": 1,
    "TRAIN.BATCH_SIZE": 4,
    "TEST.BATCH_SIZE": 4,
    "TRAIN.CHECKPOINT_PERIOD": 1,
    "SOLVER.MAX_EPOCH": 2,
    "SOLVER.BASE_LR": 0.05,
    "SOLVER.LR_POLICY": "cosine", "SOLVER.STEPS": [], "SOLVER.LRS": [1], "SOLVER.COSINE_END_LR": 0.001,
    "BN.USE_PRECISE_STATS": True,
    "BN.NUM_BATCHES_PRECISE": 2,
    "TEST.ENABLE": True,
    "TEST.NUM_ENSEMBLE_VIEWS": 2,
    "TEST.NUM_SPATIAL_CROPS": 3,
}


class RecordingTrainer(trainer_module.Trainer):
    """A Trainer that saves, after each epoch, its weights and the batches its sampler gave."""

    def train_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)
        batches = [[(index, shape) for index, shape, _ in batch] for batch in self.sampler]
        super().train_epoch(epoch)
        params = {k: v.detach().clone() for k, v in unwrap(self.model).named_parameters()}
        record = {"batches": batches, "params": params}
        torch.save(record, Path(self.spec.place.output_dir) / f"epoch{epoch}_rank{self.ctx.rank}.pt")

    def build_hooks(self) -> list:
        """The hooks, with precise BN saving the BN buffers it computed."""
        hooks = super().build_hooks()
        (precise_bn,) = [hook for hook in hooks if isinstance(hook, PreciseBN)]
        recompute = precise_bn.recompute

        def recompute_and_save(epoch: int) -> None:
            recompute(epoch)
            buffers = {k: v.clone() for k, v in unwrap(self.model).named_buffers() if "running" in k}
            torch.save(buffers, Path(self.spec.place.output_dir) / f"bn{epoch}_rank{self.ctx.rank}.pt")

        precise_bn.recompute = recompute_and_save
        return hooks


def _torchrun_like_worker(rank: int, port: int, cfg) -> None:
    """What torchrun gives each process (env:// variables), then the normal entry point."""
    torch.set_num_threads(1)
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "localhost", "MASTER_PORT": str(port)})
    launch.Trainer = RecordingTrainer
    run(build_run_spec(cfg))


def _load(folder: Path, name: str) -> dict:
    return torch.load(folder / name, weights_only=False)


@pytest.mark.parametrize("grouping", ["clips", "values"])
def test_two_gloo_ranks_train_a_multigrid_schedule_like_one_process(make_cfg, read_metrics, monkeypatch, grouping):
    overrides = {**MULTIGRID, "MULTIGRID.BN_GROUPING": grouping}
    two = make_cfg(overrides, output="two_ranks", config_file=MG_CONFIG)
    mp.spawn(_torchrun_like_worker, args=(distributed.find_free_port(), two), nprocs=2, join=True)
    one = make_cfg(overrides, output="one_rank", config_file=MG_CONFIG)
    monkeypatch.setattr(launch, "Trainer", RecordingTrainer)
    run(build_run_spec(one))

    two_dir, one_dir = Path(two.OUTPUT_DIR), Path(one.OUTPUT_DIR)
    schedule = build_schedule(two)
    assert schedule.max_epoch >= 2 and len(schedule.stages) >= 2
    per_device_sizes = set()
    for epoch in range(schedule.max_epoch):
        ranks = [_load(two_dir, f"epoch{epoch}_rank{r}.pt") for r in range(2)]
        single = _load(one_dir, f"epoch{epoch}_rank0.pt")
        # Disjoint halves of the single process's batches, with the same shape at every iteration.
        assert len(ranks[0]["batches"]) == len(ranks[1]["batches"]) == len(single["batches"])
        for b0, b1, whole in zip(ranks[0]["batches"], ranks[1]["batches"], single["batches"]):
            assert {s for _, s in b0} == {s for _, s in b1} == {s for _, s in whole} and len({s for _, s in whole}) == 1
            assert len(b0) == len(b1) == len(whole) // 2
            indices = [i for i, _ in whole]
            group_size = schedule.bn_group_size(len(whole))
            assert group_size == (4 if grouping == "clips" else 4 * len(whole) // two.TRAIN.BATCH_SIZE)
            assert [i for i, _ in b0] == [indices[p] for p in rank_share(len(whole), 2, 0, group_size)]
            assert [i for i, _ in b1] == [indices[p] for p in rank_share(len(whole), 2, 1, group_size)]
        per_device_sizes |= {len(b) for b in ranks[0]["batches"]}
        for name, value in ranks[0]["params"].items():
            assert torch.equal(value, ranks[1]["params"][name]), name
            torch.testing.assert_close(value, single["params"][name], rtol=1e-3, atol=1e-4, msg=name)
        bn = [_load(two_dir, f"bn{epoch}_rank{r}.pt") for r in range(2)]
        bn_single = _load(one_dir, f"bn{epoch}_rank0.pt")
        for name, value in bn[0].items():
            assert torch.equal(value, bn[1][name]), name
            torch.testing.assert_close(value, bn_single[name], rtol=1e-3, atol=1e-4, msg=name)

    # Per-device batches below BN_BASE_SIZE 4 (BN pooled over ranks), at it, and above it.
    assert min(per_device_sizes) < 4 < max(per_device_sizes), per_device_sizes

    # Only rank 0 wrote: one train_epoch line per epoch, its checkpoints, no second log.
    assert len(read_metrics(two_dir, "train_epoch")) == schedule.max_epoch
    assert sorted(p.name for p in (two_dir / "checkpoints").iterdir()) == sorted(
        p.name for p in (one_dir / "checkpoints").iterdir())
    # Logged statistics are all-reduced: both runs log the same losses over the same clips.
    for logged_two, logged_one in zip(read_metrics(two_dir, "train_epoch"), read_metrics(one_dir, "train_epoch")):
        assert abs(logged_two["loss"] - logged_one["loss"]) < 1e-3
        assert logged_two["top1_err"] == logged_one["top1_err"]
    for kind, keys in (("val_epoch", ("top1_err", "top5_err")), ("test_final", ("top1_acc", "top5_acc"))):
        for logged_two, logged_one in zip(read_metrics(two_dir, kind), read_metrics(one_dir, kind)):
            # Every view of every video counted exactly once over the two ranks' shards.
            assert logged_two["num_videos"] == 8 and logged_two["incomplete"] == 0
            assert all(logged_two[key] == logged_one[key] for key in keys)
    assert len(read_metrics(two_dir, "test_final")) == 1


def _worker_reporting_its_error(rank: int, port: int, configs, report_dir: str) -> None:
    """A torchrun-like rank with its own config; writes the one-line error it stops with."""
    torch.set_num_threads(1)
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "localhost", "MASTER_PORT": str(port)})
    try:
        run(build_run_spec(configs[rank]))
        message = "finished"
    except Exception as err:  # noqa: BLE001 - the test checks its kind and text
        message = f"{launch.exit_code_for(err)} {err}"
    Path(report_dir, f"rank{rank}.txt").write_text(message)


def test_ranks_with_different_training_lists_stop_with_one_line(make_cfg, synthetic_dir, tmp_path):
    # Rank 1's machine lists one video twice: as many iterations per epoch (so without the check the
    # ranks would run on with diverging permutations rather than hang), but a different list.
    other = tmp_path / "other_data"
    other.mkdir()
    for name in ("val.csv", "test.csv"):
        (other / name).write_text((synthetic_dir / name).read_text())
    lines = (synthetic_dir / "train.csv").read_text().splitlines()
    (other / "train.csv").write_text("\n".join(lines + lines[:1]) + "\n")
    for csv in other.glob("*.csv"):  # relative video paths resolve next to the CSV
        rows = [line.split(" ", 1) for line in csv.read_text().splitlines()]
        csv.write_text("".join(f"{synthetic_dir / path} {label}\n" for path, label in rows))
    common = {"TRAIN.BATCH_SIZE": 4, "TEST.BATCH_SIZE": 4, "SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0],
              "SOLVER.LRS": [1], "TEST.ENABLE": False}
    configs = [make_cfg(common, output="run"), make_cfg({**common, "DATA.PATH_TO_DATA_DIR": str(other)}, output="run")]
    mp.spawn(_worker_reporting_its_error, args=(distributed.find_free_port(), configs, str(tmp_path)),
             nprocs=2, join=True)
    reports = [(tmp_path / f"rank{rank}.txt").read_text() for rank in range(2)]
    for rank, report in enumerate(reports):
        source = f"{synthetic_dir if rank == 0 else other}/train.csv"
        assert report == (f"2 ranks disagree on the number of training videos (rank 0 has 32, rank 1 has 33; this "
                          f"rank read {source}); give every machine the same DATA.PATH_TO_DATA_DIR contents"), report

"""Writes the fixture of test_old_checkpoint.py: a mid-epoch checkpoint in the layout of commit
e6e4f02 (before hooks kept their own state: ``epoch_sums`` and a flat ``trainer_state``), and what
that code did when it resumed from it.

Run at commit e6e4f02 (``git worktree add /tmp/old e6e4f02``), from that tree::

    OMP_NUM_THREADS=1 PYTHONPATH=. python tests/engine/data/make_pre_hook_state_checkpoint.py OUT

It trains the tiny run of test_old_checkpoint.py from scratch, stops it with an exception after
its 12th iteration (checkpoint_last.pyth is written after every iteration), copies that
checkpoint to OUT/checkpoint_last.pyth, resumes from it to the end and writes OUT/expected.json:
digests of the final weights and optimizer state, the final trainer state (less the time split's
seconds) and the train_epoch / val_epoch records. An uninterrupted run must end the same.
"""
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from slowfast.config import load_config  # noqa: E402
from slowfast.datasets.synthetic import SyntheticOptions, generate_synthetic_dataset  # noqa: E402
from slowfast.engine import checkpoint as ckpt  # noqa: E402
from slowfast.engine import launch  # noqa: E402
from slowfast.engine.loop import HookBase  # noqa: E402
from slowfast.engine.run_spec import build_run_spec  # noqa: E402
from slowfast.engine.trainer import Trainer  # noqa: E402

MG_CONFIG = str(ROOT / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml")
# tests/conftest.py's TINY_SYNTHETIC; tests/engine/conftest.py's TINY at width 4, and
# test_exact_resume.py's RESUMABLE (6 epochs in 5 stages, 27 iterations, dropout on).
DATASET = SyntheticOptions(num_classes=4, clips_per_class=8, num_frames=16, size=32, difficulty=0)
OVERRIDES = {
    "SYNTHETIC.GENERATE": False, "SYNTHETIC.NUM_CLASSES": 4, "MODEL.NUM_CLASSES": 4,
    "RESNET.WIDTH_PER_GROUP": 4, "SLOWFAST.BETA_INV": 4, "DATA.NUM_FRAMES": 8,
    "DATA.TRAIN_CROP_SIZE": 32, "DATA.TRAIN_JITTER_SCALES": [32, 40], "DATA.TEST_CROP_SIZE": 32,
    "DATA.DECODED_CACHE_DIR": "", "DATA_LOADER.NUM_WORKERS": 0, "TEST.BATCH_SIZE": 8,
    "BN.USE_PRECISE_STATS": False, "SOLVER.WARMUP_EPOCHS": 0.0, "LOG_MODEL_INFO": False, "LOG_PERIOD": 1,
    "MULTIGRID.LONG_CYCLE_FACTORS": [[0.5, 0.7071], [0.5, 1], [1, 0.7071], [1, 1]],
    "MULTIGRID.EPOCH_FACTOR": 2.0, "MULTIGRID.BN_BASE_SIZE": 4, "MULTIGRID.EVAL_FREQ": 1,
    "TRAIN.BATCH_SIZE": 2, "TRAIN.EVAL_PERIOD": 2, "TRAIN.CHECKPOINT_PERIOD": 2,
    "TRAIN.CHECKPOINT_MINUTES": 1e-9, "SOLVER.MAX_EPOCH": 3, "SOLVER.BASE_LR": 0.01,
    "SOLVER.LR_POLICY": "steps_with_relative_lrs", "SOLVER.STEPS": [0, 2], "SOLVER.LRS": [1, 0.1],
    "MODEL.DROPOUT_RATE": 0.5, "TEST.ENABLE": False,
}
STOP_AFTER = 12  # iterations of the run (27 in all)
TIMING = ("dt", "dt_data", "eta", "time_s")


class Stopped(Exception):
    """Stands for a kill."""


class StopAfter(HookBase):
    def after_step(self) -> None:
        if self.trainer.state.global_iter == STOP_AFTER:
            raise Stopped


class StoppingTrainer(Trainer):
    def build_hooks(self) -> list:
        return super().build_hooks() + [StopAfter()]


def config(data_dir: Path, output_dir: Path):
    values = {**OVERRIDES, "DATA.PATH_TO_DATA_DIR": str(data_dir), "OUTPUT_DIR": str(output_dir)}
    flat = [item for key, value in values.items() for item in (key, value if isinstance(value, str) else repr(value))]
    return load_config(MG_CONFIG, flat)


def digest(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()[:16]


def final_state(cfg) -> dict:
    saved = ckpt.load_checkpoint_file(ckpt.checkpoint_path(cfg.OUTPUT_DIR, 5))
    trainer_state = dict(saved["trainer_state"])
    trainer_state["time_split_stages"] = sorted(trainer_state.pop("time_split"))
    return {
        "model_state": {k: digest(v) for k, v in saved["model_state"].items()},
        "momentum_buffers": {str(i): digest(state["momentum_buffer"])
                             for i, state in saved["optimizer_state"]["state"].items()},
        "trainer_state": trainer_state,
    }


def epoch_records(output_dir: Path) -> dict:
    """The last train_epoch / val_epoch record of each epoch, less its seconds."""
    records = {}
    for line in (output_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("_type") in ("train_epoch", "val_epoch"):
            records[f"{record['_type']} {record['epoch']}"] = {k: v for k, v in record.items() if k not in TIMING}
    return records


def main(out: Path) -> None:
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp())
    generate_synthetic_dataset(str(work / "data"), DATASET)
    whole, killed = config(work / "data", work / "whole"), config(work / "data", work / "killed")
    launch.run(build_run_spec(whole))
    launch.Trainer = StoppingTrainer
    try:
        launch.run(build_run_spec(killed))
    except Stopped:
        pass
    launch.Trainer = Trainer
    shutil.copy(ckpt.last_checkpoint_path(killed.OUTPUT_DIR), out / "checkpoint_last.pyth")
    launch.run(build_run_spec(killed))
    expected = {"final": final_state(killed), "records": epoch_records(work / "killed")}
    assert expected["final"] == final_state(whole), "the old code did not resume exactly"
    assert expected["records"] == epoch_records(work / "whole")
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(work)


if __name__ == "__main__":
    main(Path(sys.argv[1]))

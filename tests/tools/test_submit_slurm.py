"""tools/submit_slurm.py --local: the training runs through submitit in 2 gloo tasks and resumes."""
import importlib.util
import pickle
from pathlib import Path

import pytest
import torch

from slowfast.datasets.synthetic import SyntheticOptions, generate_synthetic_dataset
from slowfast.engine.slurm import task_threads, usable_cores

submitit = pytest.importorskip("submitit")

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("submit_slurm", REPO / "tools" / "submit_slurm.py")
submit_slurm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(submit_slurm)

TINY_MG = {
    "SYNTHETIC.NUM_CLASSES": 4, "MODEL.NUM_CLASSES": 4, "RESNET.WIDTH_PER_GROUP": 8, "SLOWFAST.BETA_INV": 4,
    "DATA.NUM_FRAMES": 8, "DATA.TRAIN_CROP_SIZE": 32, "DATA.TRAIN_JITTER_SCALES": "[32,40]",
    "DATA.TEST_CROP_SIZE": 32, "DATA_LOADER.NUM_WORKERS": 0, "TRAIN.BATCH_SIZE": 4, "TEST.BATCH_SIZE": 4,
    "LOG_MODEL_INFO": False, "MULTIGRID.LONG_CYCLE_FACTORS": "[[0.5,0.7071],[1,1]]",
    "MULTIGRID.EPOCH_FACTOR": 1.0, "MULTIGRID.BN_BASE_SIZE": 4, "SOLVER.MAX_EPOCH": 2,
    "SOLVER.LR_POLICY": "cosine", "SOLVER.STEPS": "[]", "SOLVER.LRS": "[1]", "SOLVER.WARMUP_EPOCHS": 0.0,
    "TEST.ENABLE": False, "SYNTHETIC.GENERATE": False, "BN.USE_PRECISE_STATS": False,
}


def _args(output: Path, data: Path) -> list[str]:
    values = {**TINY_MG, "OUTPUT_DIR": str(output), "DATA.PATH_TO_DATA_DIR": str(data),
              "DATA.DECODED_CACHE_DIR": f"{output}_decoded"}
    overrides = [str(item) for key, value in values.items() for item in (key, value)]
    return ["--cfg", str(REPO / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml"), "--local",
            "--gpus-per-node", "0", "--tasks-per-node", "2", "--time", "0.1", *overrides]


def _weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)["model_state"]


@pytest.mark.slow
def test_local_job_trains_with_two_tasks_and_resumes_after_being_killed(tmp_path, monkeypatch):
    # No OMP_NUM_THREADS: each task takes its share of the cores itself, as torchrun would give it.
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    generate_synthetic_dataset(str(tmp_path / "data"), SyntheticOptions(
        num_classes=4, clips_per_class=8, num_frames=16, size=32, difficulty=0))
    output = tmp_path / "out"
    args = submit_slurm.parse_args(_args(output, tmp_path / "data"))
    job = submit_slurm.submit(args)
    job.results()
    share = max(1, usable_cores() // 2)
    for task in range(2):
        assert f"; {share} torch threads per task ({usable_cores()} cores // 2 tasks" in job.task(task).stdout()
    checkpoints = output / "checkpoints"
    last = checkpoints / "checkpoint_epoch_00002.pyth"
    uninterrupted = _weights(last)
    assert "rank 0 of 2" in (output / "stdout.log").read_text()

    # Killed after epoch 1: its last checkpoint is epoch 1's. The requeued job resumes from it.
    last.unlink()
    submit_slurm.submit(args).results()
    log = (output / "stdout.log").read_text()
    assert "resumed from the checkpoint of epoch 1; continuing at epoch 2" in log
    for name, value in _weights(last).items():
        torch.testing.assert_close(value, uninterrupted[name], msg=name)


def test_preempted_job_requeues_itself_with_the_same_config():
    job = submit_slurm.TrainingJob("/cfg.yaml", ["SOLVER.BASE_LR", "0.1"])
    requeued = pickle.loads(pickle.dumps(job.checkpoint()))
    assert isinstance(requeued, submitit.helpers.DelayedSubmission)
    assert requeued.function.cfg_file == "/cfg.yaml"
    assert requeued.function.user_overrides == ["SOLVER.BASE_LR", "0.1"]


def test_gpu_count_and_task_count_must_agree(capsys, tmp_path):
    argv = _args(tmp_path / "out", tmp_path / "data")
    argv[argv.index("--gpus-per-node") + 1] = "4"
    assert submit_slurm.main(argv) == 2
    assert "--tasks-per-node 2 must equal --gpus-per-node 4" in capsys.readouterr().err


@pytest.mark.parametrize("environ, cores, tasks, expected", [
    ({}, 16, 2, (8, "16 cores // 2 tasks; set OMP_NUM_THREADS to change")),
    ({}, 3, 2, (1, "3 cores // 2 tasks; set OMP_NUM_THREADS to change")),
    ({}, 2, 4, (1, "2 cores // 4 tasks; set OMP_NUM_THREADS to change")),  # never 0
    ({"OMP_NUM_THREADS": "3"}, 16, 2, (3, "OMP_NUM_THREADS=3")),  # the user's choice wins
    ({"OMP_NUM_THREADS": "0"}, 16, 4, (4, "16 cores // 4 tasks; set OMP_NUM_THREADS to change")),
    ({"SUBMITIT_EXECUTOR": "slurm", "SLURM_CPUS_PER_TASK": "10"}, 64, 8, (10, "SLURM_CPUS_PER_TASK=10")),
    # A local job started inside a SLURM allocation does not take the allocation's value.
    ({"SUBMITIT_EXECUTOR": "local", "SLURM_CPUS_PER_TASK": "10"}, 64, 8, (8, "64 cores // 8 tasks; "
                                                                          "set OMP_NUM_THREADS to change")),
])
def test_each_task_gets_its_share_of_the_cores(environ, cores, tasks, expected):
    assert task_threads(environ, cores, tasks) == expected

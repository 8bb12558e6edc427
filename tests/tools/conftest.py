"""Fixtures of the command-line tool tests."""
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest
import torch

from slowfast.utils.distributed import find_free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root folder (tools/ and configs/ live there)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def load_tool():
    """Import a script of tools/ as a module (tools/ is not a package)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"tools_{name}", REPO_ROOT / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load




# --- Two-rank CPU training runs, launched the ways users launch them (torchrun, SLURM, run_net shards) ---

TWO_RANK_CONFIG = REPO_ROOT / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml"
# A tiny multigrid run: 4 epochs (3 at 4x23 px, 1 at 8x32), global batch 4 at the base shape, 4 classes,
# checkpoints after epochs 1, 3 and 4: a preemption test has seconds between the first and the end.
TWO_RANK_OVERRIDES = {
    "SYNTHETIC.NUM_CLASSES": 4, "MODEL.NUM_CLASSES": 4, "RESNET.WIDTH_PER_GROUP": 8, "SLOWFAST.BETA_INV": 4,
    "DATA.NUM_FRAMES": 8, "DATA.TRAIN_CROP_SIZE": 32, "DATA.TRAIN_JITTER_SCALES": "[32,40]",
    "DATA.TEST_CROP_SIZE": 32, "DATA_LOADER.NUM_WORKERS": 0, "TRAIN.BATCH_SIZE": 4, "TEST.BATCH_SIZE": 4,
    "LOG_MODEL_INFO": False, "MULTIGRID.LONG_CYCLE_FACTORS": "[[0.5,0.7071],[1,1]]",
    "MULTIGRID.EPOCH_FACTOR": 1.0, "MULTIGRID.BN_BASE_SIZE": 4, "MULTIGRID.EVAL_FREQ": 3, "SOLVER.MAX_EPOCH": 4,
    "SOLVER.LR_POLICY": "cosine", "SOLVER.STEPS": "[]", "SOLVER.LRS": "[1]", "SOLVER.WARMUP_EPOCHS": 0.0,
    "TEST.ENABLE": False, "SYNTHETIC.GENERATE": False, "BN.USE_PRECISE_STATS": False,
}
LAST_CHECKPOINT = "checkpoints/checkpoint_epoch_00004.pyth"


def training_env() -> dict[str, str]:
    """The environment of every launched process: this checkout's package, one thread per process
    (thread counts change float sums, so runs compared bit for bit must agree on it)."""
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": python_path, "OMP_NUM_THREADS": "1"}


class TwoRankRun:
    """The tiny two-rank CPU run on the session's synthetic data: its arguments, and how to compare runs."""

    config = TWO_RANK_CONFIG

    def __init__(self, data: Path) -> None:
        self.data = data

    def overrides(self, output: Path, **changes) -> list[str]:
        """``KEY VALUE`` arguments of the run writing to ``output`` (``changes`` replace overrides)."""
        values = {**TWO_RANK_OVERRIDES, "OUTPUT_DIR": output, "DATA.PATH_TO_DATA_DIR": self.data,
                  "DATA.DECODED_CACHE_DIR": f"{output}_decoded", **changes}
        return [str(item) for key, value in values.items() for item in (key, value)]

    @staticmethod
    def final_state(output: Path) -> dict:
        """The epoch, weights and optimizer state of the run's last checkpoint."""
        contents = torch.load(output / LAST_CHECKPOINT, map_location="cpu", weights_only=False)
        return {"epoch": contents["epoch"], "model": contents["model_state"], "optimizer": contents["optimizer_state"]}

    def assert_same_final_state(self, output: Path, reference: Path) -> None:
        """The two runs' last checkpoints hold bit-identical weights and optimizer state."""
        got, expected = self.final_state(output), self.final_state(reference)
        assert got["epoch"] == expected["epoch"]
        assert got["model"].keys() == expected["model"].keys()
        for name, value in expected["model"].items():
            assert torch.equal(got["model"][name], value), f"{name} of {output} differs from {reference}"
        for param, state in expected["optimizer"]["state"].items():
            for key, value in state.items():
                assert torch.equal(got["optimizer"]["state"][param][key], value), f"optimizer {param}.{key}"

    @staticmethod
    def env() -> dict[str, str]:
        """The environment to launch its processes with (see :func:`training_env`)."""
        return training_env()

    @staticmethod
    def launch(command: list[str], timeout_s: float = 300) -> subprocess.CompletedProcess:
        """Run ``command`` in the checkout with :func:`training_env`; its output in the error if it fails."""
        done = subprocess.run(command, cwd=REPO_ROOT, env=training_env(), capture_output=True, text=True,
                              timeout=timeout_s)
        output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output}"
        return done


@pytest.fixture(scope="session")
def two_rank_run(synthetic_dir) -> TwoRankRun:
    """The tiny two-rank run's arguments and comparisons."""
    return TwoRankRun(synthetic_dir)


@pytest.fixture(scope="session")
def torchrun_two_processes(tmp_path_factory, two_rank_run) -> Path:
    """OUTPUT_DIR of the reference run: one torchrun node with 2 gloo processes on the CPU."""
    output = tmp_path_factory.mktemp("torchrun_one_node")
    two_rank_run.launch([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                         str(REPO_ROOT / "tools" / "run_net.py"), "--cfg", str(TWO_RANK_CONFIG),
                         *two_rank_run.overrides(output)])
    return output


# --- A real one-node SLURM cluster (.ci/slurm_cluster.sh) ---

CLUSTER_SCRIPT = REPO_ROOT / ".ci" / "slurm_cluster.sh"


class SlurmCluster:
    """Clients of the cluster the script started in ``folder``: submit, query, signal, requeue."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {**training_env(), "SLURM_CONF": str(folder / "slurm.conf")}

    def command(self, *args: str, check: bool = True) -> str:
        """Run a SLURM client (scontrol, scancel, ...) against this cluster; its stdout."""
        done = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def submit(self, *submit_args: str) -> str:
        """``tools/submit_slurm.py *submit_args``, the way a user runs it; the job id it printed."""
        done = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "submit_slurm.py"), *submit_args],
                              cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"submit_slurm.py exited {done.returncode}: {done.stderr}"
        first = done.stdout.split()
        assert first[:2] == ["submitted", "job"], done.stdout
        return first[2].rstrip(";")

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job`` as a dict (JobState, ExitCode, Restarts, ...); finished jobs stay
        listed for the script's MinJobAge (there is no accounting database, hence no sacct)."""
        line = self.command("scontrol", "--oneliner", "show", "job", job_id)
        return dict(item.split("=", 1) for item in line.split() if "=" in item)

    def wait(self, job_id: str, states: tuple[str, ...] = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"),
             timeout_s: float = 240) -> dict[str, str]:
        """Poll until the job reaches one of ``states``; its scontrol record then."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            record = self.job(job_id)
            if record["JobState"] in states:
                return record
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} still {record['JobState']} after {timeout_s} s "
                             f"(reason {record.get('Reason')}); slurmctld log: {self.folder / 'slurmctld.log'}")

    def wait_for_file(self, job_id: str, path: Path, timeout_s: float = 240) -> None:
        """Poll until the running job has written ``path``; an error if the job ends first."""
        deadline = time.monotonic() + timeout_s
        while not path.exists():
            state = self.job(job_id)["JobState"]
            assert state in ("PENDING", "CONFIGURING", "RUNNING"), f"job {job_id} is {state} before writing {path}"
            assert time.monotonic() < deadline, f"job {job_id} wrote no {path} in {timeout_s} s"
            time.sleep(0.1)


def skip_or_fail(reason: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """What a test that cannot run on this machine does: ("fail", message) where the environment
    variable CI is "true" (any case; CI systems set it, .ci/run too), so that CI cannot pass by
    skipping, else ("skip", reason)."""
    if environ.get("CI", "").lower() == "true":
        return "fail", f"{reason}; CI is true, where this test must run, not skip"
    return "skip", reason


@pytest.fixture(scope="session")
def skip_or_fail_decision():
    """skip_or_fail above, for tests (importlib mode cannot import conftest)."""
    return skip_or_fail


def _skip_or_fail_here(reason: str) -> NoReturn:
    outcome, message = skip_or_fail(reason, os.environ)
    if outcome == "fail":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory) -> SlurmCluster:
    """A real slurmctld + slurmd + munged on this machine, started once for the session.

    Skips (with the script's reason) where the cluster cannot exist: SLURM not installed and no
    root or apt-get to install it, or submitit not installed; fails instead on CI (skip_or_fail).
    Any other failure to start is an error, never a skip.
    """
    if importlib.util.find_spec("submitit") is None:
        _skip_or_fail_here("submitit is not installed (pip install -e '.[slurm]')")
    folder = tmp_path_factory.mktemp("slurm_cluster")
    ports = {"SLURMCTLD_PORT": str(find_free_port()), "SLURMD_PORT": str(find_free_port())}
    started = subprocess.run(["bash", str(CLUSTER_SCRIPT), "start", str(folder)], env={**os.environ, **ports},
                             capture_output=True, text=True, timeout=900)
    if started.returncode == 3:
        _skip_or_fail_here(started.stderr.strip().splitlines()[-1])
    if started.returncode != 0:
        pytest.fail(f"{CLUSTER_SCRIPT} start exited {started.returncode}:\n{started.stderr}", pytrace=False)
    try:
        yield SlurmCluster(folder)
    finally:
        subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", str(folder)], timeout=60, check=False)

"""tools/submit_slurm.py against a real one-node SLURM cluster (.ci/slurm_cluster.sh, fixture slurm_cluster).

Each job is the tiny two-rank CPU run of conftest.py: 2 gloo tasks must train to the same checkpoint
as torchrun's 2 processes, a job preempted after its first checkpoint must requeue itself through
submitit and end with the same weights, and a job with a bad input must fail with a one-line error.
"""
import re
from pathlib import Path

import pytest


def submit_args(run, output: Path, tasks: int, **changes) -> list[str]:
    """The command-line arguments of tools/submit_slurm.py, as GETTING_STARTED.md shows them
    (partition "ci" is the cluster's only one)."""
    return ["--cfg", str(run.config), "--partition", "ci", "--nodes", "1", "--gpus-per-node", "0",
            "--tasks-per-node", str(tasks), "--cpus-per-task", "1", "--time", "0.25", "--name", "ci",
            *run.overrides(output, **changes)]


def task_log(output: Path, job_id: str, task: int, stream: str = "out") -> str:
    """What task ``task`` wrote; submitit keeps it in OUTPUT_DIR/slurm/<job id>/<job id>_<task>_log.<stream>."""
    return (output / "slurm" / job_id / f"{job_id}_{task}_log.{stream}").read_text()


@pytest.mark.slow
def test_two_task_job_trains_like_torchrun(slurm_cluster, two_rank_run, torchrun_two_processes, tmp_path):
    output = tmp_path / "out"
    job_id = slurm_cluster.submit(*submit_args(two_rank_run, output, tasks=2))
    record = slurm_cluster.wait(job_id)
    print(f"job {job_id}: {record['JobState']} exit {record['ExitCode']} on {record['NodeList']}, "
          f"{record['NumTasks']} tasks")
    assert (record["JobState"], record["ExitCode"]) == ("COMPLETED", "0:0")
    assert (record["NumNodes"], record["NumTasks"], record["Partition"]) == ("1", "2", "ci")
    for rank in (0, 1):
        assert f"job {job_id}: rank {rank} of 2, local rank {rank}, rendezvous at" in task_log(output, job_id, rank)
    assert "running on cpu (rank 0 of 2)" in (output / "stdout.log").read_text()
    two_rank_run.assert_same_final_state(output, torchrun_two_processes)


@pytest.mark.slow
def test_preempted_job_requeues_itself_and_resumes_exactly(slurm_cluster, two_rank_run, torchrun_two_processes,
                                                           tmp_path):
    output = tmp_path / "out"
    job_id = slurm_cluster.submit(*submit_args(two_rank_run, output, tasks=2))
    first_checkpoint = output / "checkpoints" / "checkpoint_epoch_00001.pyth"
    slurm_cluster.wait_for_file(job_id, first_checkpoint)
    # What SLURM sends before a time limit (submitit asks for --signal=USR2@<delay>): submitit's
    # handler in task 0 calls TrainingJob.checkpoint and requeues the job with `scontrol requeue`.
    slurm_cluster.command("scancel", "--signal=USR2", job_id)
    record = slurm_cluster.wait(job_id)
    print(f"job {job_id}: {record['JobState']} exit {record['ExitCode']}, restarts {record['Restarts']}")
    assert (record["JobState"], record["ExitCode"], record["Restarts"]) == ("COMPLETED", "0:0", "1")
    task0 = task_log(output, job_id, 0) + task_log(output, job_id, 0, "err")
    assert "Caught signal SIGUSR2" in task0 and "Calling checkpoint method." in task0, task0[-2000:]
    resumed = re.findall(r"resumed from the checkpoint of epoch (\d); continuing at epoch (\d)",
                         (output / "stdout.log").read_text())
    print(f"job {job_id} log: resumed from the checkpoint of epoch {resumed}")
    assert len(resumed) == 1 and 1 <= int(resumed[0][0]) < 4 and int(resumed[0][1]) == int(resumed[0][0]) + 1
    two_rank_run.assert_same_final_state(output, torchrun_two_processes)


@pytest.mark.slow
def test_job_with_a_bad_data_folder_fails_with_a_one_line_error(slurm_cluster, two_rank_run, tmp_path):
    empty = tmp_path / "no_data"
    empty.mkdir()
    output = tmp_path / "out"
    # The submitting machine cannot check the compute node's files: the job finds the error.
    job_id = slurm_cluster.submit(*submit_args(two_rank_run, output, tasks=1, **{"DATA.PATH_TO_DATA_DIR": empty}))
    record = slurm_cluster.wait(job_id)
    print(f"job {job_id}: {record['JobState']} exit {record['ExitCode']}")
    assert (record["JobState"], record["ExitCode"]) == ("FAILED", "2:0")
    errors = task_log(output, job_id, 0, "err")
    expected = f"error: DATA.PATH_TO_DATA_DIR '{empty}' has no train.csv (expected lines \"<path> <label>\")"
    assert expected in errors.splitlines() and "Traceback" not in errors, errors
    completion = [line for line in (slurm_cluster.folder / "jobcomp.log").read_text().splitlines()
                  if line.startswith(f"JobId={job_id} ")]
    assert len(completion) == 1 and " JobState=FAILED " in completion[0], completion


@pytest.mark.parametrize("environ, outcome", [
    ({"CI": "true"}, "fail"),
    ({"CI": "True"}, "fail"),
    ({}, "skip"),
    ({"CI": ""}, "skip"),
    ({"CI": "false"}, "skip"),
    ({"CI": "1"}, "skip"),
])
def test_cluster_that_cannot_start_fails_on_ci_and_skips_elsewhere(skip_or_fail_decision, environ, outcome):
    reason = "cannot start a SLURM cluster here: slurmctld not installed and not root (apt-get needs root)"
    decided, message = skip_or_fail_decision(reason, environ)
    assert decided == outcome
    assert message == (reason if outcome == "skip" else f"{reason}; CI is true, where this test must run, not skip")

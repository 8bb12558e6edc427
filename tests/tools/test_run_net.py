"""tools/run_net.py: KEY VALUE overrides in both forms, and one-line errors (no traceback) for bad inputs."""
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

CONFIG = "configs/Synthetic/SLOWFAST_R18.yaml"  # 8 classes, crop 48, jitter [48, 60]
EXPECTED_LINE = '"<path> <label>"'


@pytest.fixture(scope="module")
def run_net(load_tool):
    return load_tool("run_net")


@pytest.fixture
def cli_args(repo_root, tmp_path):
    """Arguments of a small run whose data folder and output folder are under tmp_path."""

    def build(data_dir: Path, *overrides: str) -> list[str]:
        return ["--cfg", str(repo_root / CONFIG), "SYNTHETIC.GENERATE", "False", "DATA.PATH_TO_DATA_DIR", str(data_dir),
                "OUTPUT_DIR", str(tmp_path / "out"), "RESNET.WIDTH_PER_GROUP", "8", "DATA_LOADER.NUM_WORKERS", "0",
                "LOG_MODEL_INFO", "False", "DATA.DECODED_CACHE_DIR", str(tmp_path / "decoded"), *overrides]

    return build


def data_folder(tmp_path: Path, train_csv: str | None) -> Path:
    """A data folder whose train.csv holds ``train_csv`` (no train.csv when None)."""
    folder = tmp_path / "data"
    folder.mkdir()
    if train_csv is not None:
        (folder / "train.csv").write_text(train_csv)
    return folder


def assert_one_line_error(captured, message: str) -> None:
    assert "Traceback" not in captured.err
    assert captured.err.strip().splitlines()[-1] == f"error: {message}"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["SOLVER.BASE_LRR", "0.1"],
         "command-line override: unknown key SOLVER.BASE_LRR (did you mean SOLVER.BASE_LR?)"),
        (["DATA.TRAIN_CROP_SIZE", "64"], "DATA.TRAIN_CROP_SIZE 64 is larger than the smallest jitter scale "
                                         "DATA.TRAIN_JITTER_SCALES[0] 48; lower the crop or raise the scale"),
        (["--opts", "MODEL.NUM_CLASSES", "0"], "MODEL.NUM_CLASSES must be >= 1, got 0"),
        (["MODEL.NUM_CLASSES", "0"], "MODEL.NUM_CLASSES must be >= 1, got 0"),
        (["SYNTHETIC.GENERATE", "True", "SYNTHETIC.NUM_CLASSES", "4"],
         "SYNTHETIC.NUM_CLASSES 4 differs from MODEL.NUM_CLASSES 8; set them equal"),
        (["RESNET.TRANS_FUNC", "basic_transform", "RESNET.NUM_GROUPS", "2"],
         "RESNET.NUM_GROUPS 2 needs RESNET.TRANS_FUNC bottleneck_transform; basic_transform blocks take 1"),
    ],
    ids=["unknown key", "crop larger than scale", "--opts override", "positional override", "synthetic classes",
         "groups of basic blocks"],
)
def test_config_errors_exit_2_with_one_line(run_net, cli_args, tmp_path, capsys, overrides, message):
    assert run_net.main(cli_args(tmp_path, *overrides)) == 2
    assert_one_line_error(capsys.readouterr(), message)
    assert not (tmp_path / "out").exists()  # stopped before anything was written


@pytest.mark.parametrize(
    "train_csv, message",
    [
        (None, "DATA.PATH_TO_DATA_DIR '{dir}' has no train.csv (expected lines {line})"),
        ("", "'{dir}/train.csv' lists no videos (expected lines {line})"),
        ("a.mp4 7\nb.mp4 8\n", "{dir}/train.csv:2: label 8 is outside [0, MODEL.NUM_CLASSES=8); "
                               "fix the CSV or MODEL.NUM_CLASSES"),
    ],
    ids=["missing csv", "empty csv", "label out of range"],
)
def test_data_errors_exit_2_with_one_line(run_net, cli_args, tmp_path, capsys, train_csv, message):
    folder = data_folder(tmp_path, train_csv)
    assert run_net.main(cli_args(folder)) == 2
    assert_one_line_error(capsys.readouterr(), message.format(dir=folder, line=EXPECTED_LINE))


def test_test_only_run_with_missing_test_csv_exits_2(run_net, cli_args, tmp_path, capsys):
    folder = data_folder(tmp_path, "a.mp4 0\n")
    assert run_net.main(cli_args(folder, "TRAIN.ENABLE", "False", "TEST.ALLOW_RANDOM_INIT", "True")) == 2
    message = f"DATA.PATH_TO_DATA_DIR '{folder}' has no test.csv (expected lines {EXPECTED_LINE})"
    assert_one_line_error(capsys.readouterr(), message)


def test_missing_test_checkpoint_exits_2(run_net, cli_args, tmp_path, capsys):
    missing = tmp_path / "nope.pyth"
    args = cli_args(tmp_path, "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", str(missing))
    assert run_net.main(args) == 2
    assert_one_line_error(capsys.readouterr(), f"checkpoint '{missing}' does not exist; check the path")


def test_diverging_run_exits_1_naming_the_iteration(run_net, cli_args, synthetic_dir, capsys):
    args = cli_args(synthetic_dir, "MODEL.NUM_CLASSES", "4", "SYNTHETIC.NUM_CLASSES", "4", "DATA.NUM_FRAMES", "8",
                    "DATA.TRAIN_CROP_SIZE", "32", "DATA.TRAIN_JITTER_SCALES", "[32, 40]", "TRAIN.BATCH_SIZE", "8",
                    "SOLVER.MAX_EPOCH", "1", "SOLVER.STEPS", "[0]", "SOLVER.LRS", "[1]", "SOLVER.WARMUP_EPOCHS", "0.0",
                    "LOG_PERIOD", "1", "MODEL.DROPOUT_RATE", "0.0", "--opts", "SOLVER.BASE_LR", "1e6")
    assert run_net.main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert re.fullmatch(r"error: loss is (nan|inf) at epoch 1, iteration \d, stage 0, batch shape "
                        r"\(8, 3, 8, 32, 32\); lower SOLVER.BASE_LR or check the data. There is no checkpoint: "
                        r"rerunning starts afresh\n", captured.err), captured.err


def test_positional_and_opts_overrides_both_apply(run_net, cli_args, tmp_path):
    args = cli_args(tmp_path, "TRAIN.ENABLE", "False", "TEST.ENABLE", "False",
                    "--opts", "SOLVER.BASE_LR", "0.05", "RNG_SEED", "7")
    parsed = run_net.parse_args(args)
    assert parsed.overrides[-4:] == ["TRAIN.ENABLE", "False", "TEST.ENABLE", "False"]
    assert parsed.opts == ["SOLVER.BASE_LR", "0.05", "RNG_SEED", "7"]
    assert run_net.main(args) == 0
    saved = yaml.safe_load((tmp_path / "out" / "config_test.yaml").read_text())  # a run that does not train
    assert (saved["TRAIN"]["ENABLE"], saved["TEST"]["ENABLE"]) == (False, False)
    assert (saved["SOLVER"]["BASE_LR"], saved["RNG_SEED"]) == (0.05, 7)
    assert saved["RESNET"]["WIDTH_PER_GROUP"] == 8 and saved["OUTPUT_DIR"] == str(tmp_path / "out")


@pytest.mark.slow
def test_cli_process_exits_2_without_traceback_for_config_and_data_errors(repo_root, cli_args, tmp_path):
    folder = data_folder(tmp_path, "a.mp4 9\n")
    commands = {
        "config": cli_args(folder, "SOLVER.BASE_LRR", "0.1"),
        "data": cli_args(folder),
    }
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = {
        name: subprocess.Popen([sys.executable, "tools/run_net.py", *args], cwd=repo_root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, args in commands.items()
    }
    errors = {name: process.communicate(timeout=120)[1] for name, process in processes.items()}
    assert {name: process.returncode for name, process in processes.items()} == {"config": 2, "data": 2}
    assert errors == {
        "config": "error: command-line override: unknown key SOLVER.BASE_LRR (did you mean SOLVER.BASE_LR?)\n",
        "data": f"error: {folder}/train.csv:1: label 9 is outside [0, MODEL.NUM_CLASSES=8); fix the CSV or "
                "MODEL.NUM_CLASSES\n",
    }


@pytest.mark.slow
def test_workers_it_starts_itself_also_exit_2_with_one_line_per_process(repo_root, cli_args, tmp_path):
    # Two machines' worth of shards on one: each run_net spawns its worker, which meets a bad CSV.
    from slowfast.utils.distributed import find_free_port

    folder = data_folder(tmp_path, "a.mp4 9\n")
    address = f"tcp://127.0.0.1:{find_free_port()}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen([sys.executable, "tools/run_net.py", "--num_shards", "2", "--shard_id", str(shard),
                          "--init_method", address, *cli_args(folder, "NUM_GPUS", "0")],
                         cwd=repo_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for shard in (0, 1)
    ]
    errors = [process.communicate(timeout=180)[1] for process in processes]
    assert [process.returncode for process in processes] == [2, 2]
    expected = (f"error: {folder}/train.csv:1: label 9 is outside [0, MODEL.NUM_CLASSES=8); fix the CSV or "
                "MODEL.NUM_CLASSES\n")
    assert errors == [expected, expected]


@pytest.mark.parametrize(
    "contents, message",
    [
        ("video frame\n", "{csv}:1: expected the header 'original_vido_id video_id frame_id path labels'"),
        ("original_vido_id video_id frame_id path labels\nv 0 0 a.jpg\n", "{csv}:2: expected 5 whitespace-separated"),
    ],
)
def test_malformed_frame_lists_are_one_line_data_errors(tmp_path, contents, message):
    from slowfast.datasets.frame_list import read_frame_list
    from slowfast.engine.launch import exit_code_for

    (tmp_path / "train.csv").write_text(contents)
    with pytest.raises(Exception) as caught:
        read_frame_list(str(tmp_path), "train.csv")
    assert exit_code_for(caught.value) == 2
    assert str(caught.value).startswith(message.format(csv=tmp_path / "train.csv"))


def test_config_errors_found_while_running_exit_2():
    from slowfast.config import ConfigError
    from slowfast.engine.launch import exit_code_for

    assert exit_code_for(ConfigError("SYNTHETIC.NUM_CLASSES 4 differs")) == 2


# --- A new user's first mistakes: one line, exit 2, nothing started or written ---


@pytest.mark.parametrize(
    "cuda, count, message",
    [
        (False, 0, "NUM_GPUS 2 asks for 2 GPUs but none is visible (torch.cuda.is_available() is False); pass "
                   "NUM_GPUS 0 to run on the CPU"),
        (True, 1, "NUM_GPUS 2 asks for 2 GPUs but 1 is visible; pass NUM_GPUS 1 to use it, or NUM_GPUS 0 to run "
                  "on the CPU"),
    ],
    ids=["no cuda", "fewer gpus"],
)
def test_more_gpus_than_visible_exit_2_before_any_process_starts(run_net, cli_args, tmp_path, capsys, monkeypatch,
                                                                 cuda, count, message):
    import torch.multiprocessing

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.multiprocessing, "spawn", lambda *args, **kwargs: pytest.fail("spawned workers"))
    assert run_net.main(cli_args(tmp_path, "NUM_GPUS", "2")) == 2
    assert_one_line_error(capsys.readouterr(), message)
    assert not (tmp_path / "out").exists()


def test_a_list_of_wrong_paths_exits_2_naming_list_counts_and_path_prefix(run_net, cli_args, tmp_path, capsys):
    folder = data_folder(tmp_path, "".join(f"videos/{n}.mp4 {n}\n" for n in range(5)))
    assert run_net.main(cli_args(folder)) == 2
    assert_one_line_error(capsys.readouterr(), (
        f"5 of the 5 videos listed in {folder}/train.csv have no file (first: {folder}/videos/0.mp4, "
        f"{folder}/videos/1.mp4, {folder}/videos/2.mp4, ...); relative paths are read from the list's folder "
        f"{folder}: set DATA.PATH_PREFIX to the folder they are relative to, or fix the paths"))


def test_test_only_run_without_a_checkpoint_exits_2_unless_random_init_is_asked_for(
    run_net, cli_args, synthetic_dir, tmp_path, capsys
):
    out = tmp_path / "out"
    args = cli_args(synthetic_dir, "TRAIN.ENABLE", "False", "MODEL.NUM_CLASSES", "4")
    assert run_net.main(args) == 2
    assert_one_line_error(capsys.readouterr(), (
        f"no checkpoint to test: TEST.CHECKPOINT_FILE_PATH and TRAIN.CHECKPOINT_FILE_PATH are empty and OUTPUT_DIR "
        f"'{out}' has no checkpoints/checkpoint_epoch_*.pyth; set TEST.CHECKPOINT_FILE_PATH (or OUTPUT_DIR to the "
        "trained run's folder), or TEST.ALLOW_RANDOM_INIT True to test an untrained model"))
    assert not out.exists()
    assert run_net.main(args + ["TEST.ALLOW_RANDOM_INIT", "True"]) == 0
    assert "testing a randomly initialised model (TEST.ALLOW_RANDOM_INIT True)" in (out / "stdout.log").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["config_test.yaml", "metrics.jsonl", "stdout.log"]


def test_another_runs_output_dir_is_refused_before_anything_is_written(run_net, cli_args, repo_root, tmp_path,
                                                                        capsys):
    from slowfast.config import load_config

    out = tmp_path / "out"
    (out / "checkpoints").mkdir(parents=True)
    trained = load_config(str(repo_root / CONFIG), cli_args(tmp_path, "RESNET.WIDTH_PER_GROUP", "4")[2:])
    checkpoint = out / "checkpoints" / "checkpoint_epoch_00001.pyth"
    torch.save({"epoch": 0, "model_state": {}, "optimizer_state": {}, "cfg": trained.dump()}, checkpoint)
    (out / "config.yaml").write_text("the trained run's config\n")
    assert run_net.main(cli_args(tmp_path)) == 2
    assert_one_line_error(capsys.readouterr(), (
        f"OUTPUT_DIR holds checkpoint '{checkpoint}' of another run (config differs: RESNET.WIDTH_PER_GROUP: "
        f"checkpoint 4, now 8). Choose another OUTPUT_DIR, or move {out / 'checkpoints'} away to start afresh"))
    assert (out / "config.yaml").read_text() == "the trained run's config\n"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "config.yaml"]  # no stdout.log either


def test_the_error_line_also_ends_stdout_log(run_net, cli_args, tmp_path, capsys):
    folder = data_folder(tmp_path, "a.mp4 9\n")
    assert run_net.main(cli_args(folder)) == 2
    message = (f"error: {folder}/train.csv:1: label 9 is outside [0, MODEL.NUM_CLASSES=8); fix the CSV or "
               "MODEL.NUM_CLASSES")
    assert capsys.readouterr().err == message + "\n"
    last = (tmp_path / "out" / "stdout.log").read_text().splitlines()[-1]
    assert re.fullmatch(r"\[.*\]\[ERROR\] launch:\d+: " + re.escape(message), last), last


def test_an_unexpected_error_keeps_its_traceback_and_writes_it_to_stdout_log(run_net, cli_args, tmp_path,
                                                                             monkeypatch):
    from slowfast.engine import launch

    def broken(spec):
        raise RuntimeError("a bug")

    monkeypatch.setattr(launch, "prepare_data", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        run_net.main(cli_args(tmp_path))
    log = (tmp_path / "out" / "stdout.log").read_text()
    assert re.search(r"\[ERROR\] launch:\d+: the run stopped with an unexpected error:\nTraceback \(most recent call "
                     r"last\):\n.*\nRuntimeError: a bug\n$", log, re.DOTALL), log


def test_an_error_after_ctrl_c_is_logged_as_the_interruption_not_a_crash(run_net, cli_args, tmp_path, monkeypatch,
                                                                         capsys):
    # Ctrl-C reaches the loader workers too; when their death surfaces first, as an error, the
    # log and the console say the run was interrupted, with no traceback.
    from slowfast.engine import launch
    from slowfast.utils import cli

    def workers_stopped_by_ctrl_c(spec):
        monkeypatch.setattr(cli, "_sigint_received", True)
        raise RuntimeError("DataLoader worker (pid 1) exited unexpectedly")

    monkeypatch.setattr(launch, "prepare_data", workers_stopped_by_ctrl_c)
    assert run_net.main(cli_args(tmp_path)) == 130
    log = (tmp_path / "out" / "stdout.log").read_text()
    assert "interrupted by Ctrl-C (SIGINT)" in log and "Traceback" not in log and "unexpected error" not in log
    assert capsys.readouterr().err.startswith("interrupted by Ctrl-C (SIGINT)")


# --- Ctrl-C: one line saying where the run can resume from, exit status 130 ---


def test_the_interrupted_line_says_what_rerunning_does(repo_root, cli_args, tmp_path):
    from slowfast.config import load_config
    from slowfast.engine.launch import interrupted_message
    from slowfast.engine.run_spec import build_run_spec

    def message(*overrides: str) -> str:
        cfg = load_config(str(repo_root / CONFIG), cli_args(tmp_path, *overrides)[2:])
        return interrupted_message(build_run_spec(cfg))

    out = tmp_path / "out"
    assert message() == (f"interrupted by Ctrl-C (SIGINT) before the first checkpoint in {out}; rerunning the same "
                         "command starts afresh")
    (out / "checkpoints").mkdir(parents=True)
    for epoch in (1, 3):
        (out / "checkpoints" / f"checkpoint_epoch_{epoch:05d}.pyth").write_bytes(b"")
    newest = out / "checkpoints" / "checkpoint_epoch_00003.pyth"
    assert message() == f"interrupted by Ctrl-C (SIGINT); rerunning the same command resumes from {newest}"
    assert message("TRAIN.AUTO_RESUME", "False") == (
        f"interrupted by Ctrl-C (SIGINT); the last checkpoint is {newest}: rerun with TRAIN.AUTO_RESUME True to "
        "resume from it")
    assert message("TRAIN.ENABLE", "False") == (
        "interrupted by Ctrl-C (SIGINT); this run only tests: rerunning the same command tests again from the start")


@pytest.mark.slow
def test_sigint_during_training_ends_with_one_line_and_exit_130(repo_root, cli_args, synthetic_dir, tmp_path):
    from slowfast.config import load_config
    from slowfast.engine.launch import interrupted_message
    from slowfast.engine.run_spec import build_run_spec

    args = cli_args(synthetic_dir, "MODEL.NUM_CLASSES", "4", "SYNTHETIC.NUM_CLASSES", "4", "DATA.NUM_FRAMES", "8",
                    "DATA.TRAIN_CROP_SIZE", "32", "DATA.TRAIN_JITTER_SCALES", "[32, 40]", "SOLVER.MAX_EPOCH", "50",
                    "SOLVER.STEPS", "[0]", "SOLVER.LRS", "[1]", "SOLVER.WARMUP_EPOCHS", "0.0", "TEST.ENABLE", "False",
                    "BN.USE_PRECISE_STATS", "False")
    # SIGINT as the default disposition (a parent started in the background may pass it ignored).
    process = subprocess.Popen([sys.executable, "tools/run_net.py", *args], cwd=repo_root,
                               env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in process.stdout:
            if "training schedule" in line:  # training has started
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()  # a no-op once it has exited
    expected = interrupted_message(build_run_spec(load_config(str(repo_root / CONFIG), args[2:])))
    assert (process.returncode, err) == (130, expected + "\n")
    assert (tmp_path / "out" / "stdout.log").read_text().rstrip().endswith(expected)

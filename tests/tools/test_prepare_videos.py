"""tools/prepare_videos.py: arguments, exit statuses and the messages naming what failed."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from slowfast.datasets import reencode
from slowfast.datasets.h264 import write_h264
from slowfast.utils import cli


@pytest.fixture
def prepare(load_tool):
    return load_tool("prepare_videos")


@pytest.mark.parametrize("argv, message", [
    (["a", "b", "--short-side", "0"], "--short-side must be >= 1"),
    (["a", "a/"], "must differ from INPUT_DIR"),
    (["a", "b", "--short-sides", "0,128"], "expected distinct positive integers, got '0,128'"),
    (["a", "b", "--short-sides", "128,128"], "expected distinct positive integers, got '128,128'"),
    (["a", "b", "--short-sides", "128,big"], "expected a comma-separated list of integers, got '128,big'"),
    (["a", "b", "--short-sides", "128", "--short-side", "64"], "not allowed with argument"),
])
def test_bad_arguments_are_rejected(prepare, capsys, argv, message):
    with pytest.raises(SystemExit):
        prepare.parse_args(argv)
    assert message in capsys.readouterr().err


def test_defaults_and_short_sides(prepare):
    args = prepare.parse_args(["a", "b"])
    assert (args.short_sides, args.keyframe_interval, args.crf, args.preset) == ((128, 181, 256), 32, 23, "veryfast")
    assert prepare.parse_args(["a", "b", "--short-side", "128"]).short_sides == (128,)
    assert prepare.parse_args(["a", "b", "--short-sides", "256,128"]).short_sides == (128, 256)


def test_a_folder_without_csvs(prepare, capsys, tmp_path):
    assert prepare.main([str(tmp_path), str(tmp_path / "out"), "--workers", "1"]) == 2
    assert "has none of" in capsys.readouterr().err


def write_clip(path) -> None:
    """Ten 64x48 frames at 10 fps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = (np.full((48, 64, 3), 20 * k, np.uint8) for k in range(10))
    write_h264(str(path), frames, 10, 48, 64, {"preset": "ultrafast"})


@pytest.fixture
def folder(tmp_path):
    """in/clips/good.mp4, in/clips/broken.mp4 (not a video)."""
    write_clip(tmp_path / "in" / "clips" / "good.mp4")
    (tmp_path / "in" / "clips" / "broken.mp4").write_bytes(b"not a video")
    return tmp_path


def run(prepare, folder, *options: str) -> int:
    return prepare.main([str(folder / "in"), str(folder / "out"), "--workers", "1", "--preset", "ultrafast",
                         *options])


def test_success_writes_the_copies_the_manifest_and_the_csv(prepare, capsys, folder):
    (folder / "in" / "train.csv").write_text("clips/good.mp4 3\n")
    assert run(prepare, folder, "--short-sides", "24,32", "--keyframe-interval", "5") == 0
    out = folder / "out"
    assert capsys.readouterr().out == f"wrote {out / 'train.csv'} (1 rows)\n"
    assert (out / "train.csv").read_text() == "clips/good.mp4 3\n"
    assert sorted(path.name for path in (out / "clips").iterdir()) == ["good.mp4", "good.s24.mp4"]
    assert json.loads((out / "prepared.json").read_text()) == {
        "format": 1, "short_sides": [24, 32], "primary_short_side": 32, "keyframe_interval": 5, "crf": 23}


def test_a_failed_video_is_named_left_out_and_exits_1(prepare, capsys, folder):
    (folder / "in" / "train.csv").write_text("clips/good.mp4 0\nclips/broken.mp4 1\n")
    assert run(prepare, folder, "--short-side", "32") == 1
    errors = capsys.readouterr().err.splitlines()
    broken = folder / "in" / "clips" / "broken.mp4"
    assert errors[0].startswith(f"error: {broken}: InvalidDataError: ")
    assert errors[1:] == ["videos failed: 1; the CSVs list the others"]
    assert (folder / "out" / "train.csv").read_text() == "clips/good.mp4 0\n"


def test_an_empty_result_is_refused(prepare, capsys, folder):
    (folder / "in" / "train.csv").write_text("clips/good.mp4 0\n")
    (folder / "in" / "val.csv").write_text("clips/broken.mp4 1\n")
    assert run(prepare, folder, "--short-side", "32") == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[0].startswith(f"error: {folder / 'in' / 'clips' / 'broken.mp4'}: InvalidDataError: ")
    assert errors[1] == f"error: {folder / 'out' / 'val.csv'}: not written, none of its videos was prepared"
    assert (folder / "out" / "train.csv").exists() and not (folder / "out" / "val.csv").exists()


def test_a_line_without_a_label_is_one_error_naming_file_and_line(prepare, capsys, folder):
    (folder / "in" / "train.csv").write_text("clips/good.mp4 0\n\nclips/broken.mp4\n")
    assert run(prepare, folder) == 2
    assert capsys.readouterr().err == (
        f"error: {folder / 'in' / 'train.csv'}:3: expected '<path> <label>', got 'clips/broken.mp4'\n")
    assert not (folder / "out").exists()


def test_two_sources_written_to_one_file_are_refused(prepare, capsys, folder):
    write_clip(folder / "in" / "clips" / "good.mkv")
    (folder / "in" / "train.csv").write_text("clips/good.mp4 0\nclips/good.mkv 1\n")
    assert run(prepare, folder, "--short-side", "48") == 2
    assert capsys.readouterr().err == (
        f"error: '{folder / 'in' / 'clips' / 'good.mp4'}' and '{folder / 'in' / 'clips' / 'good.mkv'}' "
        f"(in {folder / 'in' / 'train.csv'}) would both be written to '{folder / 'out' / 'clips' / 'good.mp4'}'; "
        "rename one\n")


# --- Ctrl-C: one line, exit status 130, no CSV and no temporary file left ---


def interrupted_line(folder) -> str:
    return (f"interrupted by Ctrl-C (SIGINT) before {folder / 'out'} was complete; rerunning the same command "
            "prepares it again from the start\n")


def test_ctrl_c_while_encoding_ends_with_one_line_and_exit_130(prepare, capsys, folder, monkeypatch):
    (folder / "in" / "train.csv").write_text("clips/good.mp4 0\n")

    def ctrl_c(*args):  # the first copy is written, not yet renamed into place
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises before this ends

    monkeypatch.setattr(reencode, "check_copy", ctrl_c)
    assert run(prepare, folder, "--short-sides", "24,32") == 130
    assert capsys.readouterr() == ("", interrupted_line(folder))
    assert [path.name for path in (folder / "out").rglob("*")] == ["clips"]  # temporaries deleted, no CSV


def test_an_error_after_ctrl_c_is_the_interruption_and_any_other_keeps_its_traceback(prepare, capsys, folder,
                                                                                    monkeypatch):
    def broken_pipe_after_ctrl_c(*args):  # e.g. the encoder pool stopped by the same Ctrl-C
        monkeypatch.setattr(cli, "_sigint_received", True)
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(reencode, "prepare_folder", broken_pipe_after_ctrl_c)
    assert run(prepare, folder) == 130
    assert capsys.readouterr().err == interrupted_line(folder)

    def a_bug(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(reencode, "prepare_folder", a_bug)
    with pytest.raises(RuntimeError, match="a bug"):
        run(prepare, folder)


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_stops_the_encoder_pool_with_one_line(repo_root, tmp_path):
    # A terminal's Ctrl-C reaches every process of the job: the workers leave it to the parent, which
    # stops them; the copies they were writing are deleted.
    rng = np.random.default_rng(0)
    source = tmp_path / "in" / "clips" / "v0.mp4"
    source.parent.mkdir(parents=True)
    noise = (rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(60))  # slow to encode
    write_h264(str(source), noise, 30, 240, 320, {"preset": "ultrafast"})
    for k in range(1, 12):
        shutil.copy(source, source.with_name(f"v{k}.mp4"))
    (tmp_path / "in" / "train.csv").write_text("".join(f"clips/v{k}.mp4 {k}\n" for k in range(12)))
    out = tmp_path / "out"
    # SIGINT as the default disposition (a parent started in the background may pass it ignored).
    command = [sys.executable, "tools/prepare_videos.py", str(tmp_path / "in"), str(out), "--workers", "2",
               "--short-sides", "128,240", "--preset", "ultrafast"]
    process = subprocess.Popen(command, cwd=repo_root, env={**os.environ, "OMP_NUM_THREADS": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not list(out.rglob(".*.tmp.mp4")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # until a copy is being written
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()  # a no-op once it has exited
    assert (process.returncode, stdout, stderr) == (130, "", interrupted_line(tmp_path))
    left = [path.name for path in out.rglob("*")]
    assert not [name for name in left if ".tmp." in name] and "train.csv" not in left and "prepared.json" not in left

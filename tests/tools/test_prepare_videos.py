"""tools/prepare_videos.py: arguments, exit statuses and the messages naming what failed."""
import json

import numpy as np
import pytest

from slowfast.datasets.h264 import write_h264


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

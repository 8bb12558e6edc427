"""tools/prepare_videos.py: argument checks and the error for a folder without CSVs."""
import pytest


@pytest.fixture
def prepare(load_tool):
    return load_tool("prepare_videos")


@pytest.mark.parametrize("argv, message", [
    (["a", "b", "--short-side", "0"], "--short-side must be >= 1"),
    (["a", "a/"], "must differ from INPUT_DIR"),
])
def test_bad_arguments_are_rejected(prepare, capsys, argv, message):
    with pytest.raises(SystemExit):
        prepare.parse_args(argv)
    assert message in capsys.readouterr().err


def test_defaults_and_a_folder_without_csvs(prepare, capsys, tmp_path):
    args = prepare.parse_args(["a", "b"])
    assert (args.short_side, args.keyframe_interval, args.crf) == (256, 60, 23)
    assert prepare.main([str(tmp_path), str(tmp_path / "out"), "--workers", "1"]) == 2
    assert "has none of" in capsys.readouterr().err

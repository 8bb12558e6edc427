"""Atomic writes: the target holds the old content or the whole new one, never a part."""
import json

import pytest

from slowfast.utils.atomic import atomic_path, write_json_atomic, write_text_atomic


def test_text_and_json_replace_the_file(tmp_path):
    path = tmp_path / "train.csv"
    write_text_atomic(path, "a 0\n")
    write_text_atomic(path, "b 1\n")
    assert path.read_text() == "b 1\n"
    write_json_atomic(tmp_path / "classes.json", {"left": 0})
    assert json.loads((tmp_path / "classes.json").read_text()) == {"left": 0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classes.json", "train.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "video.mp4"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as temporary:
            assert temporary.endswith(".mp4") and temporary != str(path)  # writers pick the format
            open(temporary, "w").write("half")
            raise RuntimeError("encoder died")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]

"""The prepared-folder layout: copy naming and the prepared.json manifest."""
import json

import pytest

from slowfast.datasets.errors import DataError
from slowfast.datasets.prepared import MANIFEST_NAME, PreparedManifest, copy_path


@pytest.mark.parametrize("primary, short_side, copy", [
    ("videos/abc.mp4", 128, "videos/abc.s128.mp4"),
    ("/data/k400/train/a.b.mp4", 64, "/data/k400/train/a.b.s64.mp4"),
    ("clips.v2/noext", 32, "clips.v2/noext.s32"),
])
def test_a_copy_sits_beside_its_primary_with_its_short_side_in_the_name(primary, short_side, copy):
    assert copy_path(primary, short_side) == copy


def test_the_manifest_round_trips_and_names_its_copies(tmp_path):
    manifest = PreparedManifest(short_sides=(128, 256), keyframe_interval=16, crf=23)
    manifest.write(str(tmp_path))
    assert json.loads((tmp_path / MANIFEST_NAME).read_text()) == {
        "format": 1, "short_sides": [128, 256], "primary_short_side": 256, "keyframe_interval": 16, "crf": 23}
    assert PreparedManifest.read(str(tmp_path)) == manifest
    assert manifest.path_for("videos/abc.mp4", 256) == "videos/abc.mp4"
    assert manifest.path_for("videos/abc.mp4", 128) == "videos/abc.s128.mp4"
    with pytest.raises(ValueError, match=r"no copy at short side 160; this folder has \[128, 256\]"):
        manifest.path_for("videos/abc.mp4", 160)


def test_a_folder_without_a_manifest_has_none(tmp_path):
    assert PreparedManifest.read(str(tmp_path)) is None


GOOD = {"format": 1, "short_sides": [128, 256], "primary_short_side": 256, "keyframe_interval": 16, "crf": 23}


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not a readable JSON manifest"),
    ("[1, 2]", r"must hold exactly the keys .* got list"),
    ({**GOOD, "extra": 1}, r"must hold exactly the keys .* got \['crf', 'extra'"),
    ({key: value for key, value in GOOD.items() if key != "crf"}, "must hold exactly the keys"),
    ({**GOOD, "format": 2}, "has format 2; this code reads format 1"),
    ({**GOOD, "short_sides": [256, 128]}, r"short_sides must be distinct positive integers in ascending order"),
    ({**GOOD, "short_sides": "256"}, "short_sides must be a list"),
    ({**GOOD, "short_sides": []}, r"short_sides must be distinct positive integers"),
    ({**GOOD, "primary_short_side": 128}, r"primary_short_side 128 is not the largest of short_sides \[128, 256\]"),
    ({**GOOD, "keyframe_interval": 0}, "keyframe_interval must be a positive integer, got 0"),
    ({**GOOD, "crf": "23"}, "crf must be an integer, got '23'"),
])
def test_a_malformed_manifest_is_an_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / MANIFEST_NAME
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(DataError, match=message) as raised:
        PreparedManifest.read(str(tmp_path))
    assert str(path) in str(raised.value) and "rerun tools/prepare_videos.py" in str(raised.value)

import os

import cv2
import numpy as np
import pytest

from slowfast.datasets.decoder import VideoDecodeError
from slowfast.datasets.frame_list import read_frame_list, read_frames

HEADER = "original_vido_id video_id frame_id path labels\n"


def write(folder, name, text):
    (folder / name).write_text(text)
    return str(folder)


def test_rows_are_grouped_by_video_in_first_appearance_order(tmp_path):
    text = HEADER + 'b 0 0 b/1.jpg "0"\na 1 0 a/1.jpg ""\nb 0 1 b/2.jpg "1,2"\n\na 1 1 a/2.jpg "2"\nb 0 2 b/3.jpg ""\n'
    frames = read_frame_list(write(tmp_path, "train.csv", text), "train.csv", num_classes=3)
    assert frames.video_ids.tolist() == ["b", "a"]
    assert [frames.num_frames(v) for v in (0, 1)] == [3, 2]
    assert frames.frame_path(0, 2) == os.path.join(str(tmp_path), "b/3.jpg")
    assert frames.frame_path(1, 1) == os.path.join(str(tmp_path), "a/2.jpg")
    assert frames.frame_location(0, 1) == f"{tmp_path}/train.csv:4"
    assert frames.frame_location(1, 1) == f"{tmp_path}/train.csv:6"
    assert frames.labels_of_span(0, 0, 0).tolist() == [0]
    assert frames.labels_of_span(0, 1, 2).tolist() == [1, 2]
    assert frames.labels_of_span(0, 2, 2).tolist() == []
    assert frames.video_labels(0).tolist() == [0, 1, 2]
    assert frames.video_labels(1).tolist() == [2]


def test_path_prefix_and_absolute_paths(tmp_path):
    text = HEADER + 'a 0 0 a/1.jpg ""\na 0 1 /abs/2.jpg ""\n'
    frames = read_frame_list(write(tmp_path, "val.csv", text), "val.csv", path_prefix="/frames")
    assert [frames.frame_path(0, k) for k in (0, 1)] == ["/frames/a/1.jpg", "/abs/2.jpg"]


def test_labels_are_not_parsed_without_num_classes(tmp_path):
    frames = read_frame_list(write(tmp_path, "val.csv", HEADER + "a 0 0 a/1.jpg whatever\n"), "val.csv")
    assert frames.video_labels(0).tolist() == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("a 0 0 a/1.jpg \"\"\n", r"val.csv:1: expected the header 'original_vido_id video_id frame_id path labels'"),
        (HEADER, "lists no frames"),
        (HEADER + 'a 0 0 a/1.jpg ""\na 0 1 a/2.jpg\n', r"val.csv:3: expected 5 whitespace-separated fields .* got 4"),
        (HEADER + 'a 0 0 a/1.jpg "1,x"\n', r"val.csv:2: labels '\"1,x\"' are not comma-separated class ids"),
        (HEADER + 'a 0 0 a/1.jpg "1"\na 0 1 a/2.jpg "3"\n',
         r"val.csv:3: label 3 is outside \[0, MODEL.NUM_CLASSES=3\)"),
    ],
)
def test_malformed_lists_name_file_and_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_frame_list(write(tmp_path, "val.csv", text), "val.csv", num_classes=3)


def test_missing_list_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"DATA.PATH_TO_DATA_DIR '{tmp_path}' has no train.csv"):
        read_frame_list(str(tmp_path), "train.csv")


def test_read_frames_keeps_bgr_and_reads_repeats_once(make_frame_list, clip_frame_numbers):
    data_dir = make_frame_list("val.csv", {"v": 5})
    frames = read_frame_list(data_dir, "val.csv")
    clip = read_frames(frames, 0, np.array([0, 0, 3, 4]))
    assert clip.shape == (4, 32, 48, 3) and clip.dtype == np.uint8
    assert clip[:, 0, 0].tolist() == [[0, 0, 200], [0, 0, 200], [12, 0, 200], [16, 0, 200]]
    assert clip[0, 0, 47].tolist() == [0, 94, 200]


def test_missing_unreadable_and_resized_frames_name_file_and_line(make_frame_list):
    data_dir = make_frame_list("val.csv", {"v": 4})
    frames = read_frame_list(data_dir, "val.csv")
    os.remove(frames.frame_path(0, 1))
    with open(frames.frame_path(0, 2), "w") as handle:
        handle.write("not an image")
    cases = {1: "cannot be read", 2: "is not a readable image"}
    for index, reason in cases.items():
        with pytest.raises(VideoDecodeError) as raised:
            read_frames(frames, 0, np.array([0, index]))
        assert raised.value.path == frames.frame_path(0, index)
        assert f"frame listed at {data_dir}/val.csv:{index + 2} {reason}" in str(raised.value)
    cv2.imwrite(frames.frame_path(0, 3), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(VideoDecodeError, match=r"val.csv:5 is 8x8, other frames of video v are 48x32"):
        read_frames(frames, 0, np.array([0, 3]))

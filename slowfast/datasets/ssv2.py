"""Something-Something-v2 in PySlowFast's layout: label JSONs, frame lists, segment-based sampling.

``DATA.PATH_TO_DATA_DIR`` holds ``something-something-v2-labels.json`` (template -> class id),
``something-something-v2-{train,validation}.json`` (``[{"id", "template", ...}]``) and the frame
lists ``train.csv`` / ``val.csv``; val and test both use the validation files. A clip of T frames
takes one frame from each of T equal segments of the video, so DATA.SAMPLING_RATE (and the
long cycle's sampling-rate range) play no part; the long cycle changes T.
"""
import json
import logging
import os

import numpy as np

from slowfast.datasets.errors import DataError, MissingDataError
from slowfast.datasets.frame_dataset import FrameListDataset
from slowfast.datasets.frame_list import FrameList, read_frame_list
from slowfast.datasets.options import DatasetOptions
from slowfast.datasets.temporal_sampling import segment_frame_indices
from slowfast.multigrid.shape import ClipShape

logger = logging.getLogger(__name__)

LABELS_FILE = "something-something-v2-labels.json"
# split -> (label JSON, frame list)
SPLIT_FILES = {
    "train": ("something-something-v2-train.json", "train.csv"),
    "val": ("something-something-v2-validation.json", "val.csv"),
    "test": ("something-something-v2-validation.json", "val.csv"),
}
_MISSING_SHOWN = 5


def read_label_map(path: str, num_classes: int) -> dict[str, int]:
    """``something-something-v2-labels.json``: template (without brackets) -> class id."""
    content = _read_json(path)
    if not isinstance(content, dict):
        raise DataError(f"{path}: expected an object mapping templates to class ids, got {type(content).__name__}")
    label_map = {}
    for template, value in content.items():
        if not str(value).strip().isdigit() or not 0 <= int(value) < num_classes:
            raise DataError(
                f"{path}: template {template!r} has class id {value!r}; expected an integer in "
                f"[0, MODEL.NUM_CLASSES={num_classes})"
            )
        label_map[template] = int(value)
    return label_map


def read_split_labels(path: str, label_map: dict[str, int], labels_path: str) -> list[tuple[str, int]]:
    """``(video id, class id)`` of every entry of a split JSON, in file order."""
    content = _read_json(path)
    if not isinstance(content, list):
        raise DataError(
            f"{path}: expected a list of {{\"id\", \"template\", ...}} entries, got {type(content).__name__}"
        )
    videos = []
    for position, entry in enumerate(content):
        if not isinstance(entry, dict) or "id" not in entry or "template" not in entry:
            raise DataError(f"{path}: entry #{position} has no \"id\" and \"template\": {str(entry)[:200]}")
        template = str(entry["template"]).replace("[", "").replace("]", "")
        if template not in label_map:
            raise DataError(
                f"{path}: entry #{position} (id {entry['id']}) has template {entry['template']!r}, "
                f"which {labels_path} does not list"
            )
        videos.append((str(entry["id"]), label_map[template]))
    return videos


def _read_json(path: str):
    if not os.path.isfile(path):
        raise MissingDataError(
            f"'{path}' is missing; SSv2 needs {LABELS_FILE} and the split JSONs in DATA.PATH_TO_DATA_DIR"
        )
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None


def match_frame_lists(
    videos: list[tuple[str, int]], frames: FrameList, json_path: str
) -> tuple[np.ndarray, np.ndarray]:
    """Frame-list rows and labels of the JSON's videos; videos without frames are left out with a warning."""
    row_of_id = {str(video_id): row for row, video_id in enumerate(frames.video_ids.tolist())}
    rows, labels, missing = [], [], []
    for video_id, label in videos:
        row = row_of_id.get(video_id)
        if row is None:
            missing.append(video_id)
        else:
            rows.append(row)
            labels.append(label)
    if missing:
        shown = ", ".join(missing[:_MISSING_SHOWN]) + (", ..." if len(missing) > _MISSING_SHOWN else "")
        message = (
            f"{len(missing)} of {len(videos)} videos of {json_path} have no frames in {frames.csv_path} (ids {shown})"
        )
        if not rows:
            raise DataError(f"{message}: no video is left; check that the JSON and the frame list belong together")
        logger.warning("%s; they are left out", message)
    return np.array(rows, dtype=np.int64), np.array(labels, dtype=np.int64)


class Ssv2(FrameListDataset):
    """Something-Something-v2: single-label, segment sampling, frames read with OpenCV (BGR)."""

    def __init__(self, data_dir: str, split: str, options: DatasetOptions):
        if split not in SPLIT_FILES:
            raise ValueError(f"split must be one of {tuple(SPLIT_FILES)}, got {split!r}")
        json_name, list_name = SPLIT_FILES[split]
        labels_path = os.path.join(data_dir, LABELS_FILE)
        json_path = os.path.join(data_dir, json_name)
        label_map = read_label_map(labels_path, options.num_classes)
        videos = read_split_labels(json_path, label_map, labels_path)
        frames = read_frame_list(data_dir, list_name, options.path_prefix)
        rows, self._labels = match_frame_lists(videos, frames, json_path)
        super().__init__(data_dir, split, options, frames, rows)

    @property
    def labels(self) -> np.ndarray:
        """Class id of every video, in JSON order."""
        return self._labels

    def _train_indices(self, video: int, shape: ClipShape, rng: np.random.Generator) -> np.ndarray:
        return segment_frame_indices(self.num_video_frames(video), shape.num_frames, rng)

    def _eval_indices(self, video: int, view: int, num_views: int) -> np.ndarray:
        num_frames = self.options.num_frames
        return segment_frame_indices(self.num_video_frames(video), num_frames, view=view, num_views=num_views)

    def _label(self, video: int, indices: np.ndarray) -> int:
        return int(self._labels[video])

"""Read PySlowFast frame lists (SSv2, Charades) into flat arrays, and read the listed frames with OpenCV.

A frame list is a header line starting with ``original_vido_id``, then one line per frame:
``original_vido_id video_id frame_id path labels`` (whitespace-separated; ``labels`` is a quoted,
comma-separated list of class ids, possibly empty: ``"3,17"`` or ``""``). Frames are grouped by
``original_vido_id`` in order of first appearance and kept in file order within a video.
Everything is stored in numpy arrays, not per-frame Python objects, so that forked loader
workers share it instead of copying it page by page (SSv2 lists ~8M frames).
"""
import os
from array import array
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from slowfast.datasets.decoder import VideoDecodeError
from slowfast.datasets.errors import DataError, MissingDataError
from slowfast.datasets.video_list import resolve_video_path

HEADER = "original_vido_id video_id frame_id path labels"


@dataclass(frozen=True)
class FrameList:
    """The frames of every video of one frame-list file; frame ``f`` of video ``v`` is row ``frame_offsets[v] + f``."""

    csv_path: str
    video_ids: np.ndarray  # original_vido_id of each video, as str
    frame_offsets: np.ndarray  # int64 [V + 1]
    path_blob: np.ndarray  # uint8: every row's path, UTF-8, back to back
    path_starts: np.ndarray  # int64 [F] start of each row's path in path_blob
    path_lengths: np.ndarray  # int32 [F]
    line_numbers: np.ndarray  # int32 [F] line of each row in csv_path
    label_values: np.ndarray  # int32: every row's class ids, back to back
    label_starts: np.ndarray  # int64 [F]
    label_counts: np.ndarray  # int32 [F]
    path_prefix: str = ""

    @property
    def num_videos(self) -> int:
        return len(self.video_ids)

    def num_frames(self, video: int) -> int:
        """Number of frames listed for ``video``."""
        return int(self.frame_offsets[video + 1] - self.frame_offsets[video])

    def frame_path(self, video: int, frame: int) -> str:
        """Resolved path of a frame: DATA.PATH_PREFIX joined to relative paths, else the list's folder."""
        row = int(self.frame_offsets[video]) + frame
        start = int(self.path_starts[row])
        relative = self.path_blob[start : start + int(self.path_lengths[row])].tobytes().decode("utf-8")
        return resolve_video_path(relative, self.path_prefix, os.path.dirname(os.path.abspath(self.csv_path)))

    def frame_location(self, video: int, frame: int) -> str:
        """``file:line`` where a frame is listed, for error messages."""
        return f"{self.csv_path}:{int(self.line_numbers[int(self.frame_offsets[video]) + frame])}"

    def labels_of_span(self, video: int, first: int, last: int) -> np.ndarray:
        """Sorted distinct class ids over frames ``first..last`` (inclusive) of ``video``."""
        rows = slice(int(self.frame_offsets[video]) + first, int(self.frame_offsets[video]) + last + 1)
        starts, counts = self.label_starts[rows], self.label_counts[rows]
        if counts.sum() == 0:
            return np.zeros(0, dtype=np.int32)
        pieces = [self.label_values[s : s + c] for s, c in zip(starts.tolist(), counts.tolist()) if c]
        return np.unique(np.concatenate(pieces))

    def video_labels(self, video: int) -> np.ndarray:
        """Sorted distinct class ids over all frames of ``video`` (the video-level label)."""
        return self.labels_of_span(video, 0, self.num_frames(video) - 1)


def read_frame_list(
    data_dir: str, file_name: str, path_prefix: str = "", num_classes: Optional[int] = None
) -> FrameList:
    """Parse ``{data_dir}/{file_name}``; ``num_classes`` set = parse and check the labels column too."""
    csv_path = os.path.join(data_dir, file_name)
    if not os.path.isfile(csv_path):
        raise MissingDataError(
            f"DATA.PATH_TO_DATA_DIR '{data_dir}' has no {file_name} (a PySlowFast frame list: "
            f"header '{HEADER}', then one line per frame)"
        )
    rows = _Rows()
    with open(csv_path, encoding="utf-8") as handle:
        header = handle.readline()
        if not header.startswith("original_vido_id"):
            raise DataError(f"{csv_path}:1: expected the header '{HEADER}', got {header.strip()!r}")
        for line_number, line in enumerate(handle, start=2):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 5:
                raise DataError(
                    f"{csv_path}:{line_number}: expected 5 whitespace-separated fields '{HEADER}', "
                    f"got {len(fields)}: {line.strip()!r}"
                )
            labels = _parse_labels(fields[4], csv_path, line_number, num_classes) if num_classes else ()
            rows.add(fields[0], fields[3], line_number, labels)
    if not rows.video_index:
        raise DataError(f"'{csv_path}' lists no frames (expected lines '{HEADER}' after the header)")
    return rows.to_frame_list(csv_path, path_prefix)


def _parse_labels(field: str, csv_path: str, line_number: int, num_classes: int) -> list[int]:
    text = field.replace('"', "")
    if not text:
        return []
    try:
        labels = [int(part) for part in text.split(",")]
    except ValueError:
        raise DataError(
            f"{csv_path}:{line_number}: labels {field!r} are not comma-separated class ids (e.g. \"3,17\" or \"\")"
        ) from None
    bad = [label for label in labels if not 0 <= label < num_classes]
    if bad:
        raise DataError(
            f"{csv_path}:{line_number}: label {bad[0]} is outside [0, MODEL.NUM_CLASSES={num_classes}); "
            "fix the frame list or MODEL.NUM_CLASSES"
        )
    return labels


class _Rows:
    """Accumulates rows in compact arrays while parsing."""

    def __init__(self):
        self.video_index: dict[str, int] = {}
        self.video_of_row = array("q")
        self.blob = bytearray()
        self.path_starts, self.path_lengths, self.lines = array("q"), array("i"), array("i")
        self.label_values, self.label_starts, self.label_counts = array("i"), array("q"), array("i")

    def add(self, video_id: str, path: str, line_number: int, labels) -> None:
        self.video_of_row.append(self.video_index.setdefault(video_id, len(self.video_index)))
        encoded = path.encode("utf-8")
        self.path_starts.append(len(self.blob))
        self.path_lengths.append(len(encoded))
        self.blob += encoded
        self.lines.append(line_number)
        self.label_starts.append(len(self.label_values))
        self.label_counts.append(len(labels))
        self.label_values.extend(labels)

    def to_frame_list(self, csv_path: str, path_prefix: str) -> FrameList:
        video_of_row = np.frombuffer(self.video_of_row, dtype=np.int64)
        # Rows of one video are normally contiguous; a stable sort groups them otherwise.
        order = np.argsort(video_of_row, kind="stable")
        counts = np.bincount(video_of_row, minlength=len(self.video_index))
        return FrameList(
            csv_path=csv_path,
            video_ids=np.array(list(self.video_index)),
            frame_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            path_blob=np.frombuffer(bytes(self.blob), dtype=np.uint8),
            path_starts=np.frombuffer(self.path_starts, dtype=np.int64)[order],
            path_lengths=np.frombuffer(self.path_lengths, dtype=np.int32)[order],
            line_numbers=np.frombuffer(self.lines, dtype=np.int32)[order],
            label_values=np.frombuffer(self.label_values, dtype=np.int32).copy(),
            label_starts=np.frombuffer(self.label_starts, dtype=np.int64)[order],
            label_counts=np.frombuffer(self.label_counts, dtype=np.int32)[order],
            path_prefix=path_prefix,
        )


def read_frames(frames: FrameList, video: int, indices: np.ndarray) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` of the listed frames at ``indices``, in OpenCV's BGR order.

    Each distinct frame is read once. A missing, unreadable or differently sized frame raises
    VideoDecodeError naming the frame and the frame-list line that lists it.
    """
    images: dict[int, np.ndarray] = {}
    for index in np.unique(indices).tolist():
        images[index] = _read_image(frames, video, index)
    first = images[int(indices[0])]
    output = np.empty((len(indices),) + first.shape, dtype=np.uint8)
    for position, index in enumerate(indices.tolist()):
        image = images[index]
        if image.shape != first.shape:
            raise VideoDecodeError(
                frames.frame_path(video, index),
                f"frame listed at {frames.frame_location(video, index)} is {image.shape[1]}x{image.shape[0]}, "
                f"other frames of video {frames.video_ids[video]} are {first.shape[1]}x{first.shape[0]}",
            )
        output[position] = image
    return output


def _read_image(frames: FrameList, video: int, index: int) -> np.ndarray:
    path = frames.frame_path(video, index)
    where = frames.frame_location(video, index)
    try:
        with open(path, "rb") as handle:
            data = np.frombuffer(handle.read(), dtype=np.uint8)
    except OSError as error:
        raise VideoDecodeError(path, f"frame listed at {where} cannot be read ({error.strerror or error})") from error
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise VideoDecodeError(path, f"frame listed at {where} is not a readable image")
    return image

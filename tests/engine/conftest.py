"""Fixtures of the end-to-end engine tests: tiny configs on the shared synthetic dataset, log readers."""
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from slowfast.config import load_config

SYNTHETIC_R18 = str(Path(__file__).resolve().parents[2] / "configs" / "Synthetic" / "SLOWFAST_R18.yaml")
NUM_CLASSES = 4  # tests/conftest.py TINY_SYNTHETIC has 4 classes

# SLOWFAST_R18.yaml shrunk to run an epoch in a fraction of a second on a CPU.
TINY = {
    "SYNTHETIC.GENERATE": False,
    "SYNTHETIC.NUM_CLASSES": NUM_CLASSES,
    "MODEL.NUM_CLASSES": NUM_CLASSES,
    "MODEL.DROPOUT_RATE": 0.0,
    "RESNET.WIDTH_PER_GROUP": 8,
    "SLOWFAST.BETA_INV": 4,
    "DATA.NUM_FRAMES": 8,
    "DATA.TRAIN_CROP_SIZE": 32,
    "DATA.TRAIN_JITTER_SCALES": [32, 40],
    "DATA.TEST_CROP_SIZE": 32,
    "DATA_LOADER.NUM_WORKERS": 0,
    "TRAIN.BATCH_SIZE": 8,
    "TEST.BATCH_SIZE": 8,
    "BN.USE_PRECISE_STATS": False,
    "SOLVER.WARMUP_EPOCHS": 0.0,
    "LOG_MODEL_INFO": False,
    "LOG_PERIOD": 1,
}


def overrides_list(values: dict[str, Any]) -> list[str]:
    """``{KEY: value}`` as the ``[KEY, VALUE, ...]`` list load_config takes."""
    return [item for key, value in values.items() for item in (key, value if isinstance(value, str) else repr(value))]


@pytest.fixture
def make_cfg(synthetic_dir, tmp_path) -> Callable[..., Any]:
    """Frozen tiny config on the synthetic dataset; ``output`` names a folder under tmp_path."""

    def build(overrides: dict[str, Any] | None = None, output: str = "run", config_file: str = SYNTHETIC_R18):
        values = {**TINY, "DATA.PATH_TO_DATA_DIR": str(synthetic_dir), "OUTPUT_DIR": str(tmp_path / output),
                  "DATA.DECODED_CACHE_DIR": str(tmp_path / "decoded")}
        values.update(overrides or {})
        return load_config(config_file, overrides_list(values))

    return build


@pytest.fixture(scope="session")
def read_stats() -> Callable[..., list[dict]]:
    """The ``json_stats`` reader below, for tests (importlib mode cannot import conftest)."""
    return json_stats


@pytest.fixture(scope="session")
def read_metrics() -> Callable[..., list[dict]]:
    """The metrics.jsonl reader below."""
    return metrics_lines


def json_stats(output_dir: str | Path, kind: str | None = None) -> list[dict]:
    """``json_stats`` records of OUTPUT_DIR/stdout.log in order, optionally only one ``_type``/``split``."""
    records = []
    for line in (Path(output_dir) / "stdout.log").read_text().splitlines():
        _, marker, payload = line.partition("json_stats: ")
        if marker:
            records.append(json.loads(payload))
    if kind is None:
        return records
    return [r for r in records if r.get("_type", r.get("split")) == kind]


def metrics_lines(output_dir: str | Path, kind: str) -> list[dict]:
    """Records of OUTPUT_DIR/metrics.jsonl with ``_type`` (or ``split``) ``kind``."""
    lines = (Path(output_dir) / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return [r for r in records if r.get("_type", r.get("split")) == kind]

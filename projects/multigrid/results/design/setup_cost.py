"""Seconds to build the train, val and test datasets of the README's config: decoded into memory
(DATA.DECODED_CACHE_DIR ''), decoded and written to a store, then mapped from it three times.
Run from the repository root after the dataset exists; STORE (argument 1) is a scratch folder, emptied first."""
import logging
import shutil
import sys
import time

from slowfast.config import load_config
from slowfast.datasets.build import build_dataset
from slowfast.datasets.spec import data_spec

logging.basicConfig(level=logging.INFO, format="%(message)s")
STORE = sys.argv[1] if len(sys.argv) > 1 else "/tmp/setup_cost_store"
cfg_file = "configs/Synthetic/SLOWFAST_R18_MG.yaml"
def build_all(overrides):
    cfg = load_config(cfg_file, overrides)
    start = time.perf_counter()
    for split in ("train", "val", "test"):
        build_dataset(data_spec(cfg), split)
    return time.perf_counter() - start
shutil.rmtree(STORE, ignore_errors=True)
mem = build_all(["DATA.DECODED_CACHE_DIR", ""])
first = build_all(["DATA.DECODED_CACHE_DIR", STORE])
mapped = [build_all(["DATA.DECODED_CACHE_DIR", STORE]) for _ in range(3)]
print(f"in memory {mem:.1f} s; store written {first:.1f} s; store mapped {', '.join(f'{m:.2f}' for m in mapped)} s")

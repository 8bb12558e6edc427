"""Device selection and seeding."""
import random

import numpy as np
import torch


def select_device(num_gpus: int, local_rank: int = 0) -> torch.device:
    """CUDA device ``local_rank`` when NUM_GPUS > 0, else the CPU; a clear error if CUDA is absent."""
    if num_gpus == 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(
            f"NUM_GPUS is {num_gpus} but CUDA is not available on this machine; "
            "pass NUM_GPUS 0 to train on the CPU"
        )
    if torch.cuda.device_count() < num_gpus:
        raise RuntimeError(
            f"NUM_GPUS is {num_gpus} but this machine has {torch.cuda.device_count()} GPU(s)"
        )
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)

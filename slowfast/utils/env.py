"""Device selection and seeding."""
import random

import numpy as np
import torch

from slowfast.utils.checks import ConfigError


def select_device(num_gpus: int, local_rank: int = 0) -> torch.device:
    """CUDA device ``local_rank`` when NUM_GPUS > 0, else the CPU; ConfigError if the GPUs are absent."""
    if num_gpus == 0:
        return torch.device("cpu")
    check_gpus(num_gpus)
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def check_gpus(num_gpus: int) -> None:
    """Raise ConfigError when NUM_GPUS asks for more GPUs than this machine shows."""
    if num_gpus == 0:
        return
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if visible >= num_gpus:
        return
    asked = f"NUM_GPUS {num_gpus} asks for {num_gpus} GPU{'s' if num_gpus > 1 else ''}"
    if visible == 0:
        raise ConfigError(f"{asked} but none is visible (torch.cuda.is_available() is False); pass NUM_GPUS 0 "
                          "to run on the CPU")
    raise ConfigError(f"{asked} but {visible} "
                      f"{'is' if visible == 1 else 'are'} visible; pass NUM_GPUS {visible} to use "
                      f"{'it' if visible == 1 else 'them'}, or NUM_GPUS 0 to run on the CPU")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)

"""The bundled synthetic motion dataset: rendering, the Kinetics (videos) and SSv2 / Charades
(frame folders) layouts, and generation on demand."""
from slowfast.datasets.synthetic.generate import (
    LAYOUTS,
    ensure_synthetic_dataset,
    generate_dataset,
    generator_record,
)
from slowfast.datasets.synthetic.options import SyntheticOptions
from slowfast.datasets.synthetic.videos import generate_synthetic_dataset, write_video

__all__ = [
    "LAYOUTS",
    "SyntheticOptions",
    "ensure_synthetic_dataset",
    "generate_dataset",
    "generate_synthetic_dataset",
    "generator_record",
    "write_video",
]

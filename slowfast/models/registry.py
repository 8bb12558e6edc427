"""The model registry: ``MODEL.MODEL_NAME`` -> the factory building it and the ``MODEL.ARCH``
values it builds. Factories register themselves in ``build.py``; ``spec.py`` checks the
config's names against this table."""
from collections.abc import Callable

import torch.nn as nn

# A factory builds the model (on CPU, not initialised) from its checked spec and norm layer:
# ``factory(spec: ModelSpec, norm: NormFactory) -> nn.Module``.
ModelFactory = Callable[..., nn.Module]

# MODEL.MODEL_NAME -> function building that model.
MODEL_REGISTRY: dict[str, ModelFactory] = {}
# MODEL.MODEL_NAME -> (the MODEL.ARCH values it builds, its number of pathways).
MODEL_ARCHS: dict[str, tuple[tuple[str, ...], int]] = {}


def register_model(
    name: str, archs: tuple[str, ...] = (), num_pathways: int = 1
) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator adding a model factory under ``MODEL.MODEL_NAME`` = ``name``, building the
    ``MODEL.ARCH`` values ``archs`` with ``num_pathways`` pathways."""

    def add(factory: ModelFactory) -> ModelFactory:
        if name in MODEL_REGISTRY:
            raise ValueError(f"A model named {name!r} is already registered")
        MODEL_REGISTRY[name] = factory
        MODEL_ARCHS[name] = (tuple(archs), num_pathways)
        return factory

    return add


def architectures() -> dict[str, tuple[str, int]]:
    """Every registered ``MODEL.ARCH`` -> (its ``MODEL.MODEL_NAME``, number of pathways)."""
    return {
        arch: (name, num_pathways)
        for name, (archs, num_pathways) in MODEL_ARCHS.items()
        for arch in archs
    }

"""Video models (C2D, I3D, I3D+NL, Slow, SlowFast on ResNet-18/50/101) and their builder."""
from slowfast.models.build import build_model

__all__ = ["build_model"]

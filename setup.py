from setuptools import find_packages, setup

setup(
    name="slowfast",
    version="0.1.0",
    description="Video classification (C2D, I3D, non-local, Slow, SlowFast) with multigrid training",
    python_requires=">=3.10",
    packages=find_packages(include=["slowfast", "slowfast.*"]),
    install_requires=[
        "torch>=2.1",
        "numpy",
        "fvcore",
        "iopath",
        "simplejson",
        "av",
        "opencv-python",
        "yacs",
        "tensorboard",
        "tqdm",
    ],
    extras_require={
        "dev": ["pytest", "ruff", "submitit", "matplotlib"],
        "slurm": ["submitit"],
        "plot": ["matplotlib"],
    },
)

"""A permissive `torchvision` for the EdgeTAM reference venv: PyPI torchvision does not import beside CPU torch.

timm imports torchvision's transforms, datasets and ops at import time but the RepViT backbone uses none of
them; the official image predictor needs Resize, Normalize and ToTensor, which behave as torchvision's here.
Every other name is an inert placeholder class. Test-only.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Resize(nn.Module):
    """torchvision.transforms.Resize on tensors: bilinear with antialias (its default)."""

    def __init__(self, size, *args, **kwargs) -> None:
        super().__init__()
        self.size = [int(s) for s in size]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(x.unsqueeze(0), size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return out.squeeze(0)


class Normalize(nn.Module):
    def __init__(self, mean, std, *args, **kwargs) -> None:
        super().__init__()
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=x.dtype).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype).view(-1, 1, 1)
        return (x - mean) / std


class ToTensor:
    def __call__(self, picture):
        return torch.from_numpy(np.asarray(picture).copy()).permute(2, 0, 1).float().div(255.0)


class _Named(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return f"{cls.__name__}.{name}"


REAL = {"Resize": Resize, "Normalize": Normalize, "ToTensor": ToTensor}


class _Module(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = REAL.get(name) or _Named(name, (), {"__init__": lambda self, *a, **k: None})
        setattr(self, name, value)
        return value


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _Module(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def install() -> None:
    for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Finder())

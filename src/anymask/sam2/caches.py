"""Values derived from weights (folded projections, packed weights, position tables), kept until the weights change."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch


def weights_key(tensors) -> tuple:
    """Changes when any tensor is replaced or modified in place: the key of a cache derived from weights.

    Inference tensors (a model loaded under torch.inference_mode) have no version counter; they cannot be
    modified in place outside inference mode, so their storage address stands for them.
    """
    return tuple((0 if t.is_inference() else t._version, t.data_ptr(), t.dtype) for t in tensors)


T = TypeVar("T")


def cached(owner: object, attribute: str, key: Callable[[], tuple], compute: Callable[[], T]) -> T:
    """`compute()`, kept in `owner.<attribute>` as (key, value) until `key()` changes (see weights_key).

    Inside torch.compile the cache is neither read nor written: the value is computed in the graph, so no
    guard depends on the cache and eager calls beside the compiled step cause no recompilation.
    """
    if torch.compiler.is_compiling():
        return compute()
    current = key()
    entry = getattr(owner, attribute, None)
    if entry is None or entry[0] != current:
        with torch.no_grad():
            entry = (current, compute())
        setattr(owner, attribute, entry)
    return entry[1]

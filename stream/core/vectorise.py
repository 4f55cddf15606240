"""Valid flows → one float32 matrix in the bundle's raw-feature order, and each row's origin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iotad.stream.core.types import FlowBlock


@dataclass(frozen=True, slots=True)
class RowOrigin:
    """For every matrix row: which block it came from and its position inside that block."""

    block: NDArray[np.intp]
    position: NDArray[np.intp]

    @classmethod
    def of(cls, blocks: Sequence[FlowBlock]) -> RowOrigin:
        """Row origins for ``blocks`` stacked in order."""
        sizes = np.fromiter((len(b) for b in blocks), dtype=np.intp, count=len(blocks))
        block = np.repeat(np.arange(len(blocks), dtype=np.intp), sizes)
        starts = np.cumsum(sizes) - sizes
        position = np.arange(int(sizes.sum()), dtype=np.intp) - np.repeat(starts, sizes)
        return cls(block, position)


def vectorise(blocks: Sequence[FlowBlock], width: int) -> NDArray[np.float32]:
    """Stack the flows of ``blocks`` into a C-contiguous ``(rows, width)`` float32 matrix.

    Values too large for float32 become ``inf`` (the caller refuses those rows).

    Examples
    --------
    >>> single = FlowBlock("g", ("d",), (1,), None, None, ([1.0, 2.0],), False, None)
    >>> columns = ([3.0, 5.0], [4.0, 6.0])
    >>> batch = FlowBlock("g", ("d", "e"), (1, 2), None, None, columns, True, (0, 1))
    >>> vectorise([single, batch], 2).tolist()
    [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    """
    parts: list[NDArray[np.float32]] = []
    rows: list[Sequence[float]] = []
    with np.errstate(over="ignore"):
        for block in blocks:
            if not block.columnar:
                rows.extend(block.values)
                continue
            if rows:
                parts.append(np.array(rows, dtype=np.float32))
                rows = []
            parts.append(np.array(block.values, dtype=np.float32).T)
        if rows:
            parts.append(np.array(rows, dtype=np.float32))
    if not parts:
        return np.empty((0, width), dtype=np.float32)
    matrix = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if matrix.shape[1] != width:
        raise ValueError(f"flows carry {matrix.shape[1]} features, the model takes {width}")
    return np.ascontiguousarray(matrix)


__all__ = ["RowOrigin", "vectorise"]

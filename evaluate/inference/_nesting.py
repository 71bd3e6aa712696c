"""Whether one grouping lies within another (fixed effects nested in clusters)."""

from __future__ import annotations

import numpy as np


def is_nested(inner: np.ndarray, outer: np.ndarray) -> bool:
    """Whether every level of ``inner`` lies within a single level of ``outer``.

    Both are integer codes ``0..L-1``; O(n), no sorting.
    """
    last = np.full(int(inner.max()) + 1, -1, dtype=np.int64)
    last[inner] = outer
    return bool(np.array_equal(last[inner], outer))

"""Progress bars for long loops: shown to a person, silent in CI logs.

Bootstrap, placebo and Monte Carlo loops wrap their iterable in :func:`progress`.
In a terminal or a notebook a bar appears (``tqdm.auto`` picks the widget or the
text bar); in CI, or wherever stderr is not a terminal (a log file, a pipe), the
bar is switched off so logs stay readable and reports stay byte-identical.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

__all__ = ["progress", "progress_enabled"]


def _in_notebook() -> bool:
    # A Jupyter kernel replaces stderr with a stream that is not a TTY, yet a
    # widget bar is exactly what a person there wants to see.
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - IPython present but unusable
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def progress_enabled(enabled: bool | None = None) -> bool:
    """Whether :func:`progress` would show a bar.

    ``enabled=True`` or ``False`` decides outright; ``None`` (the default) shows a
    bar unless the environment variable ``CI`` is set (to anything but "" / "0" /
    "false") or stderr is neither a terminal nor a notebook's.
    """
    if enabled is not None:
        return bool(enabled)
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if _in_notebook():
        return True
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    enabled: bool | None = None,
) -> Iterator[T]:
    """Iterate over ``iterable``, showing a progress bar when a person is watching.

    Parameters
    ----------
    iterable : what to loop over; its items are yielded unchanged and in order.
    total : number of items, when ``len(iterable)`` does not give it (a generator).
    desc : a short label in front of the bar ("bootstrap").
    enabled : ``True`` always shows the bar, ``False`` never; ``None`` decides
        from the environment (see :func:`progress_enabled`): silent in CI and when
        stderr is not a terminal.

    Examples
    --------
    >>> from evaluate.progress import progress
    >>> sum(progress(range(1000), desc="draws", enabled=False))
    499500
    """
    if not progress_enabled(enabled):
        # The plain iterable: no tqdm objects, no output, no monitor thread.
        return iter(iterable)
    with warnings.catch_warnings():
        # Without ipywidgets tqdm.auto warns once and falls back to the text bar,
        # which is what we want anyway.
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    # leave=False: the bar disappears when done, so a notebook's saved output and a
    # terminal's scrollback keep only the results.
    return iter(tqdm(iterable, total=total, desc=desc or None, leave=False, dynamic_ncols=True))

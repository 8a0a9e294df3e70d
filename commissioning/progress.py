"""A progress bar with an ETA on the terminal, and nothing at all anywhere else.

Long analyses (sweeps, uncertainty runs) report `(done, total)` through a callback; on a
terminal that drives a `rich` bar on stderr, while piped or redirected output (CI, logs, files)
stays exactly the command's own text.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

StepCallback = Callable[[int, int], None]


@contextmanager
def progress_bar(label: str, stream: TextIO | None = None) -> Iterator[StepCallback | None]:
    """A `(done, total)` callback that draws the bar, or None when `stream` (stderr by
    default) is not a terminal."""
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(file=out),
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update

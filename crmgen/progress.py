"""Progress on a terminal, silence in CI and pipes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def terminal_progress() -> Callable[[str, int, int], None]:
    """A progress callback drawing a bar on stderr when it is a terminal and not CI."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return lambda stage, done, total: None

    def show(stage: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {stage:<10}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show

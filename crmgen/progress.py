"""Progress on a terminal, silence in CI and pipes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def terminal_progress() -> Callable[[str, float], None]:
    """A progress callback that shows each finished step and its time on one line of stderr,
    when stderr is a terminal and not CI."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return lambda step, seconds: None
    total = [0.0]

    def show(step: str, seconds: float) -> None:
        total[0] += seconds
        sys.stderr.write(f"\r\x1b[K{step} done in {seconds:.2f} s ({total[0]:.2f} s in all)")
        if step == "write":
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def clear_line() -> None:
    """Clear the progress line, so the messages that follow start at the left edge."""
    if sys.stderr.isatty() and not os.environ.get("CI"):
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()

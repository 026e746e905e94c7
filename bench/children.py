"""Child processes timed one by one: wall clock, CPU and peak memory from ``os.wait4``.

``getrusage(RUSAGE_CHILDREN)`` sums the CPU of every child so far and keeps the largest peak
memory of them all, so it cannot tell one run from another. ``os.wait4`` returns the usage of
exactly the child it reaps (plus the grandchildren that child waited for), which is what
:func:`run` and :meth:`Child.finish` report.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: How much of a child's output is kept (its end), for error messages.
TAIL_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Run:
    """One finished child: times in seconds, peak resident memory in KiB."""

    wall: float
    user: float
    system: float
    rss_kib: int
    returncode: int
    output: str

    @property
    def cpu(self) -> float:
        """User plus system CPU seconds."""
        return self.user + self.system

    @property
    def cores(self) -> float:
        """CPU seconds per wall second: 1.0 is one core busy all the time."""
        return self.cpu / self.wall if self.wall > 0 else 0.0

    @property
    def rss_mib(self) -> float:
        """Peak resident memory in MiB (``ru_maxrss`` is in KiB on Linux)."""
        return self.rss_kib / 1024

    @property
    def ok(self) -> bool:
        """Whether the child exited with 0."""
        return self.returncode == 0

    def failure(self) -> str:
        """``exit N: last line of output``, for the report's notes."""
        lines = [line for line in self.output.strip().splitlines() if line.strip()]
        return f"exit {self.returncode}: {lines[-1] if lines else 'no output'}"


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a timed child (``env``, else this process's) without
    ``PYTHONDONTWRITEBYTECODE``: crmgen runs from its compiled bytecode, as an installed crmgen
    does (pip compiles a package when it installs it; Python writes an editable one's on its
    first import unless that variable is set, as in some CI images and this machine's, when
    every run compiled crmgen's modules again: a cost no user has)."""
    found = dict(os.environ if env is None else env)
    found.pop("PYTHONDONTWRITEBYTECODE", None)
    return found


class Child:
    """A started child process whose usage :meth:`finish` collects with ``os.wait4``."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        # Closed in finish(); a file, not a pipe, so that a chatty child never blocks.
        self._output: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.command = list(command)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        """What the child printed so far (stdout and stderr, interleaved)."""
        self._output.flush()
        self._output.seek(0)
        return self._output.read().decode("utf-8", "replace")

    def running(self) -> bool:
        """Whether the child has not exited yet (without reaping it, unlike ``poll``)."""
        if self.process.returncode is not None:
            return False
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, self.process.pid, flags) is None

    def interrupt(self) -> None:
        """Ask the child to stop as Ctrl-C would."""
        self._signal(signal.SIGINT)

    def _signal(self, number: int) -> None:
        # Not Popen.send_signal: it polls first, which would reap the child before wait4.
        if self.process.returncode is None:
            os.kill(self.process.pid, number)

    def finish(self, timeout: float | None = None) -> Run:
        """Wait for the child (killing it after ``timeout`` seconds) and return its usage."""
        timer = threading.Timer(timeout, self._signal, (signal.SIGKILL,)) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(self.process.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - self.started
        # Tell Popen the child is reaped, so that it never waits for it again.
        self.process.returncode = os.waitstatus_to_exitcode(status)
        text = self.output()[-TAIL_CHARS:]
        self._output.close()
        return Run(
            wall=wall,
            user=usage.ru_utime,
            system=usage.ru_stime,
            rss_kib=usage.ru_maxrss,
            returncode=self.process.returncode,
            output=text,
        )


def run(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> Run:
    """Run ``command`` to the end in a fresh process and return its own usage."""
    return Child(command, cwd=cwd, env=env).finish(timeout)


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None

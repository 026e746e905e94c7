"""Work done in forked children: shares of a stage (``run_forked``), or one piece of work
begun early and taken later (``start_forked``).

A child inherits the function and its share from the fork (nothing is pickled on the way in)
and sends back its packed result. Used where a stage cuts its work into independent shares
that are cheaper to send back than to make (``compute``: the values of half the records), and
where work that needs none of the records runs while they are read (the git history).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

from crmgen.model.store import pack, unpack

__all__ = ["Started", "run_forked", "start_forked"]

S = TypeVar("S")
R = TypeVar("R")


def _fork(fn: Callable[[S], R], share: S) -> tuple[int, Connection] | None:
    """Fork a child that sends back the packed ("ok", ``fn(share)``), or ("failed", why,
    traceback); returns its pid and the end of the pipe to read that from, or None when no
    process can be forked (a limit of processes or memory reached): the caller does the
    work itself."""
    receive, send = multiprocessing.Pipe(duplex=False)
    try:
        pid = os.fork()
    except OSError:
        receive.close()
        send.close()
        return None
    if pid == 0:  # the child: answer, then leave without running any finalizer
        receive.close()
        gc.disable()  # short-lived: what it makes is freed by the exit
        code = 1
        try:
            try:
                payload = pack(("ok", fn(share)))
            except BaseException as exc:  # everything goes back to the parent
                reason = f"{type(exc).__name__}: {exc}"
                payload = pack(("failed", reason, traceback.format_exc()))
            send.send_bytes(payload)
            code = 0
        finally:
            os._exit(code)
    send.close()
    return pid, receive


def _answer(conn: Connection) -> tuple[bool, object]:
    """(True, the child's result), or (False, None) when it died without one.

    Raises:
        RuntimeError: the function failed in the child (with the child's traceback).
    """
    try:
        answer = unpack(conn.recv_bytes())
    except (EOFError, OSError):
        return False, None
    if answer[0] != "ok":
        raise RuntimeError(f"a worker failed: {answer[1]}\n{answer[2]}")
    return True, answer[1]


def _end(pid: int, conn: Connection) -> None:
    """Close the pipe and reap the child, killing it first if it still works."""
    conn.close()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # a child still working when this one failed
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def run_forked(fn: Callable[[S], R], shares: Sequence[S]) -> list[R]:
    """``fn`` of each share, in order: the first here, each other in a forked child.

    An error in a child is raised here with the child's traceback; the share of a child that
    died without an answer, or could not be forked, is done here (the result is the same)."""
    children: list[tuple[tuple[int, Connection] | None, S]] = []
    try:
        for share in shares[1:]:
            children.append((_fork(fn, share), share))
        results = [fn(shares[0])] if shares else []
        for child, share in children:
            answered, result = _answer(child[1]) if child is not None else (False, None)
            results.append(result if answered else fn(share))  # type: ignore[arg-type]
        return results
    finally:
        for child, _ in children:
            if child is not None:
                _end(*child)


class Started(Generic[R]):
    """``fn()`` begun by ``start_forked``: ``result()`` waits for it, ``close()`` stops it."""

    def __init__(self, fn: Callable[[], R], child: tuple[int, Connection] | None) -> None:
        self._fn, self._child = fn, child

    def result(self) -> R:
        """What ``fn()`` returned in the child; made here when there is no child or it died
        without an answer (the result is the same).

        Raises:
            RuntimeError: ``fn`` failed in the child (with the child's traceback).
        """
        if self._child is None:
            return self._fn()
        try:
            answered, found = _answer(self._child[1])
        finally:
            self.close()
        return found if answered else self._fn()  # type: ignore[return-value]

    def close(self) -> None:
        if self._child is not None:
            _end(*self._child)
            self._child = None


def start_forked(fn: Callable[[], R], fork: bool = True) -> Started[R]:
    """Begin ``fn()`` in a forked child (when ``fork``), to take its result later: work that
    this process does not need yet, done while it does something else. The child inherits
    everything ``fn`` reads from the fork; its result is sent back packed. Where no child can
    be forked, ``fn()`` is done here when taken."""
    return Started(fn, _fork(lambda _: fn(), None) if fork else None)

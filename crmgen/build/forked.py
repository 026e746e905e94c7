"""A function over shares of work, the first in this process and each other in a forked child.

A child inherits the function and its share from the fork (nothing is pickled on the way in)
and sends back its packed result. Used where a stage cuts its work into independent shares
that are cheaper to send back than to make (``compute``: the values of half the records).
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
from typing import TypeVar

from crmgen.model.store import pack, unpack

__all__ = ["run_forked"]

S = TypeVar("S")
R = TypeVar("R")


def run_forked(fn: Callable[[S], R], shares: Sequence[S]) -> list[R]:
    """``fn`` of each share, in order: the first here, each other in a forked child.

    An error in a child is raised here with the child's traceback; the share of a child that
    died without an answer is done here (the result is the same)."""
    children: list[tuple[int, Connection, S]] = []
    try:
        for share in shares[1:]:
            receive, send = multiprocessing.Pipe(duplex=False)
            pid = os.fork()
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
            children.append((pid, receive, share))
        results = [fn(shares[0])] if shares else []
        for _, conn, share in children:
            try:
                answer = unpack(conn.recv_bytes())
            except (EOFError, OSError):  # it died: its share is done here
                results.append(fn(share))
                continue
            if answer[0] != "ok":
                raise RuntimeError(f"a worker failed: {answer[1]}\n{answer[2]}")
            results.append(answer[1])
        return results
    finally:
        for pid, conn, _ in children:
            conn.close()
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # a child still working when this one failed
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)

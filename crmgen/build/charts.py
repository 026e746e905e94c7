"""The dashboards made beside the rest of the build: in a forked process, on the other core.

The charts stage (``dashboards.pages``: cubes of every record, metrics, Vega-Lite specs and
static SVGs) needs nothing the views or the pages make, and nothing of it but the navigation
entry is needed before the dashboard pages and the home page are rendered, last. So it runs in
a child forked once the dataset is cut for the audience; the parent builds the views, starts
the page workers and makes the tables' data meanwhile, and takes the charts when it needs
them. The child reads the cache through its own connection and hands back what it put, which
the parent writes as if it had made it (``cache.Cache.for_child``).

The static SVGs are drawn by vl-convert, whose engine takes a third of a second to start. The
child forks a drawer at once (``Drawer``): it starts the engine while the child works out the
charts, then draws every SVG the cache does not have. (The child could not fork it later: once
vl-convert is loaded, a fork hangs; see ``_vega_started``.)

Where forking is not possible (one core, no ``fork``, or vl-convert already loaded in this
process: see ``_vega_started``) the charts are made in this process, when asked for: the
result is the same either way.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from crmgen import cache, dashboards
from crmgen.model import Dataset, PageSet
from crmgen.model.store import pack, unpack

from .records import can_fork, workers

__all__ = ["Charting", "Drawer", "early_drawer", "start_charts"]


class Charting:
    """The dashboards being made: ``frame`` (their navigation) at once, ``result()`` when done.

    ``close()`` stops a child that is still working (the build failed meanwhile)."""

    def __init__(self, dataset: Dataset, store: cache.Cache, drawer: Drawer | None = None) -> None:
        self.dataset, self.store, self.drawer = dataset, store, drawer
        self.frame = dashboards.frame(dataset)
        self.seconds = 0.0  # how long the charts took to make (in the child, when forked)
        self._process: Any = None
        self._conn: Connection | None = None
        self._done: PageSet | None = None

    def _fork(self) -> None:
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        child_store = self.store.for_child
        dataset, early = self.dataset, self.drawer

        def make() -> None:  # in the child
            receive.close()
            try:
                start = time.perf_counter()
                store = child_store()
                if early is not None:  # started by the build, which ends it
                    made = dashboards.pages(dataset, store, early.draw)
                else:
                    with Drawer() as drawer:
                        made = dashboards.pages(dataset, store, drawer.draw)
                payload = pack(("ok", made, store.handed_back(), time.perf_counter() - start))
            except BaseException as exc:  # everything goes back to the parent
                payload = pack(("failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            send.send_bytes(payload)
            send.close()

        self._process = context.Process(target=make, name="crmgen-charts", daemon=True)
        self._process.start()
        send.close()
        self._conn = receive

    def result(self) -> PageSet:
        """The dashboards' pages and files (waits for the child; made here if not forked)."""
        if self._done is not None:
            return self._done
        if self._conn is None:
            start = time.perf_counter()
            self._done = dashboards.pages(self.dataset, self.store)
            self.seconds = time.perf_counter() - start
            return self._done
        try:
            payload = unpack(self._conn.recv_bytes())
        except EOFError:
            code = self._process.exitcode if self._process is not None else None
            raise RuntimeError(
                f"the charts process ended without a result (exit {code})"
            ) from None
        finally:
            self.close()
        if payload[0] != "ok":
            raise RuntimeError(f"making the dashboards failed: {payload[1]}\n{payload[2]}")
        made: PageSet
        _, made, handed, self.seconds = payload
        self.store.adopt(handed)
        self._done = made
        return self._done

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.join(timeout=0.5)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join()
            self._process = None


class Drawer:
    """A forked process that starts vl-convert's engine at once and draws SVGs when asked.

    ``draw`` sends it the drawings and waits for them. If the drawer failed to start or died,
    they are drawn in this process instead (the result is the same); a drawing that vl-convert
    cannot make is an error, as it would be here. Leaving the ``with`` block ends the drawer.
    (One drawer, not one per core: the build keeps the other core busy; two drawers starting
    their engines at once made even the example's build slower.)
    """

    def __init__(self) -> None:
        self._pid = 0
        self._conn: Connection | None = None
        # never forked from a process that has loaded vl-convert: it would hang starting the
        # engine (see ``_vega_started``), and hold open every pipe of the process that forked
        # it, so a charts child that died would never be seen to end. This is the module
        # check itself, not ``_vega_started``: it holds even where a charts child was forked.
        if "vl_convert" in sys.modules:
            return
        here, there = multiprocessing.Pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the drawer
            here.close()
            code = 1
            try:
                _draw_for(there)
                code = 0
            finally:
                os._exit(code)
        there.close()
        self._conn = here

    def draw(self, jobs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> list[str]:
        if self._conn is not None:
            try:
                self._conn.send_bytes(pack(list(jobs)))
                answer = unpack(self._conn.recv_bytes())
            except (EOFError, OSError):
                self.close()  # it died: draw here
            else:
                if answer[0] != "ok":
                    raise RuntimeError(f"drawing a chart failed: {answer[1]}")
                drawn: list[str] = answer[1]
                return drawn
        from crmgen.dashboards import vegalite

        return vegalite.draw_here(jobs)

    def close(self) -> None:
        """End the drawer at once: it holds nothing, and one never asked may still be
        starting its engine (the charts process must not wait for that)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = 0

    def __enter__(self) -> Drawer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _draw_for(conn: Connection) -> None:
    """The drawer's loop: start the engine, then draw each batch sent until the pipe ends."""
    from crmgen.dashboards import vegalite

    vegalite.warm_up()
    while True:
        try:
            jobs = unpack(conn.recv_bytes())
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", vegalite.draw_here(jobs))
        except Exception as exc:  # vl-convert's errors go back to the charts process
            answer = ("failed", f"{type(exc).__name__}: {exc}")
        conn.send_bytes(pack(answer))


def early_drawer() -> contextlib.AbstractContextManager[Drawer | None]:
    """A drawer for the build's charts child, started before anything else so that its engine
    is ready when the first chart is (the child would start its own only once forked): None
    where no child can be forked. The build ends it when it is done."""
    if workers() > 1 and can_fork() and not _vega_started():
        return Drawer()
    return contextlib.nullcontext()


def start_charts(dataset: Dataset, store: cache.Cache, drawer: Drawer | None = None) -> Charting:
    """Start making the dashboards of ``dataset`` (cut for its audience): in a forked child
    when there is more than one core and something to chart, else on ``result()``. The child
    draws with ``drawer`` when given (``early_drawer``), else with one of its own."""
    charting = Charting(dataset, store, drawer)
    if charting.frame.nav and workers() > 1 and can_fork() and not _vega_started():
        charting._fork()
    return charting


def _vega_started() -> bool:
    """Whether this process has loaded vl-convert (which draws the SVGs): its engine runs on
    threads a forked child would not have, so a child calling it would wait forever. A build
    never loads it in its own process; a long-lived one that did (a test run) charts here, and
    a charts process that did starts no drawer."""
    return "vl_convert" in sys.modules

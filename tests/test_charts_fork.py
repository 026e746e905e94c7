"""The dashboards made in a forked child while the rest of the build goes on: the same pages
and files as made in the build's own process, the child's cache entries written by the parent,
and a child that fails or dies fails the build with its reason."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crmgen import dashboards, redaction
from crmgen.build import build_site, charts, load_dataset
from crmgen.cache import CACHE_FILE, Cache
from crmgen.model import Dataset, PageSet, frozen_map

EXAMPLE = Path(__file__).parent.parent
DAY = dt.date(2026, 11, 27)


@pytest.fixture(autouse=True)
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture(scope="module")
def example() -> Dataset:
    dataset = load_dataset(EXAMPLE, today=DAY)
    cut, problems = redaction.redact(dataset, None)
    assert not problems
    return cut


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Charts are made in a child even in a test process that has loaded vl-convert (whose
    engine a child cannot use): the tests that fork replace ``dashboards.pages``."""
    monkeypatch.setattr(charts, "_vega_started", lambda: False)
    monkeypatch.setattr(charts, "workers", lambda: 2)


def _forked(dataset: Dataset, store: Cache) -> charts.Charting:
    charting = charts.start_charts(dataset, store)
    assert charting._process is not None, "the charts were not made in a child"
    return charting


def _charts_using(store: Cache) -> PageSet:
    """Stands in for ``dashboards.pages`` in a child: reads the cache and puts in it."""
    a, b = store.get("svg", "a"), store.get("svg", "b")
    store.put("svg", "c", b"made in the child")
    files = {"dashboards/a.svg": a or b"", "dashboards/b.svg": b or b""}
    return PageSet(
        files=frozen_map(files), nav=dashboards.NAV, home=frozen_map({"x": os.getpid()})
    )


@pytest.mark.usefixtures("forking")
def test_charts_made_in_a_child_reach_the_parent(
    example: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        dashboards, "pages", lambda dataset, store, draw=None: _charts_using(store)
    )
    charting = _forked(example, Cache(None))
    made = charting.result()
    assert charting.frame.nav == made.nav == dashboards.NAV
    assert made.home["x"] != os.getpid()  # made in another process
    assert charting.seconds > 0 and charting._process is None  # reaped


@pytest.mark.usefixtures("forking")
def test_the_child_reads_the_cache_and_the_parent_writes_what_it_put(
    example: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        dashboards, "pages", lambda dataset, store, draw=None: _charts_using(store)
    )
    path = tmp_path / CACHE_FILE
    first = Cache(path, now=1_000.0)
    first.put("svg", "a", b"in the file")
    first.close()
    later = 1_000.0 + 2 * 86_400  # two days on: a stamp is renewed once a day at most
    second = Cache(path, now=later)
    second.put("svg", "b", b"put, not yet written")
    made = _forked(example, second).result()
    assert made.files["dashboards/a.svg"] == b"in the file"  # through its own connection
    assert made.files["dashboards/b.svg"] == b"put, not yet written"  # the parent's pending
    assert second.get("svg", "c") == b"made in the child"
    second.close()
    with sqlite3.connect(path) as db:
        used = dict(db.execute("SELECT key, used FROM entries WHERE space = 'svg'").fetchall())
    stamp = int(later * 1000)
    assert used == {"a": stamp, "b": stamp, "c": stamp}  # all used by this run


@pytest.mark.usefixtures("forking")
def test_a_child_that_fails_fails_with_its_reason(
    example: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(dataset: Dataset, store: object, draw: object = None) -> None:
        raise ValueError("no cube for you")

    monkeypatch.setattr(dashboards, "pages", broken)
    charting = _forked(example, Cache(None))
    with pytest.raises(RuntimeError, match="ValueError: no cube for you"):
        charting.result()
    assert charting._process is None


@pytest.mark.usefixtures("forking")
def test_a_child_that_dies_fails_the_build_instead_of_hanging(
    example: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    # vl-convert's engine running here, as after any test that drew a chart: a drawer the
    # child forked would hang starting it and keep the child's pipe open, so its death would
    # never be seen
    from crmgen.dashboards import vegalite

    vegalite.warm_up()

    monkeypatch.setattr(dashboards, "pages", lambda dataset, store, draw=None: os._exit(3))
    charting = _forked(example, Cache(None))
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="without a result"):
        charting.result()
    assert time.monotonic() - start < 30


@pytest.mark.usefixtures("forking")
def test_a_child_left_running_is_stopped(
    example: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboards, "pages", lambda dataset, store, draw=None: time.sleep(60))
    charting = _forked(example, Cache(None))
    process = charting._process
    start = time.monotonic()
    charting.close()  # the build failed before it needed the charts
    assert not process.is_alive() and time.monotonic() - start < 5


def test_a_process_that_loaded_vl_convert_charts_itself(example: Dataset) -> None:
    import vl_convert  # noqa: F401 -- loaded: its engine's threads would not be in a child

    charting = charts.start_charts(example, Cache(None))
    assert charting._process is None
    assert charting.result().pages  # made here


def test_a_build_whose_charts_were_made_in_a_child_is_the_one_made_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a fresh process: vl-convert is not loaded, so the charts are made in a child there
    forked = tmp_path / "forked"
    env = {**os.environ, "PYTHONHASHSEED": "1"}
    subprocess.run(
        [sys.executable, "-m", "crmgen", "build", str(EXAMPLE), "--out", str(forked)],
        check=True,
        capture_output=True,
        env=env,
        cwd=tmp_path,
    )
    monkeypatch.setattr(charts, "workers", lambda: 1)
    here = tmp_path / "here"
    assert build_site(EXAMPLE, here).written
    files = sorted(p.relative_to(here) for p in here.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(forked) for p in forked.rglob("*") if p.is_file())
    assert Path("dashboards/index.html") in files and Path("index.html") in files
    for rel in files:
        assert (here / rel).read_bytes() == (forked / rel).read_bytes(), rel


_DRAWER = """
import json, os, signal, sys
from crmgen.build.charts import Drawer
from crmgen.dashboards import vegalite

locale = vegalite.format_locale("de_DE", "EUR")
rows = [{"k": "Jan", "s": "Sales", "v": 1200, "i": 0}, {"k": "Feb", "s": "S", "v": 3400, "i": 1}]
jobs = [
    (vegalite.static_size(vegalite.chart_spec(kind, "currency", rows, title="T", key_title="M")),
     locale)
    for kind in ("bar", "line", "pie")
]
out = {}
with Drawer() as drawer:
    out["forked"] = drawer._pid != 0
    drawn = drawer.draw(jobs)
    out["loaded here"] = "vl_convert" in sys.modules  # the drawer drew them, not this process
try:
    with Drawer() as failing:
        failing.draw([({"mark": "no-such-mark"}, locale)])
except RuntimeError as exc:
    out["error"] = str(exc)
waiting = Drawer()
pid = out["waiting"] = waiting._pid
waiting.close()  # never asked: ended at once, and reaped
try:
    os.waitpid(pid, os.WNOHANG)
    out["reaped"] = False
except ChildProcessError:
    out["reaped"] = True
with Drawer() as dead:
    os.kill(dead._pid, signal.SIGKILL)
    again = dead.draw(jobs)  # drawn here instead (this process loads vl-convert now)
out["same"] = drawn == vegalite.draw_here(jobs) == again
out["svg"] = all(svg.startswith("<svg") for svg in drawn) and len(set(drawn)) == 3
print(json.dumps(out))
"""


def test_a_drawer_draws_what_this_process_would_and_is_never_waited_for(
    tmp_path: Path,
) -> None:
    """The charts process's drawer (a fresh process: one that loaded vl-convert cannot fork
    one). A drawer that died leaves its drawings to this process; a chart vl-convert cannot
    draw is an error; a drawer never asked is ended at once."""
    done = subprocess.run(
        [sys.executable, "-c", _DRAWER], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    out = json.loads(done.stdout)
    assert out["forked"] and not out["loaded here"]
    assert out["same"] and out["svg"] and out["waiting"] and out["reaped"]
    assert out["error"].startswith("drawing a chart failed: ")


_EARLY = """
import json, os, sys
from pathlib import Path
from crmgen.build import charts, pipeline
from crmgen.cache import opened

log = Path(sys.argv[2])
real_draw = charts.Drawer.draw
made = []
real_init = charts.Drawer.__init__

def init(self):
    real_init(self)
    made.append((self, self._pid))

def draw(self, jobs):  # runs in the charts child: written down in a file
    with log.open("a") as out:
        out.write(json.dumps([os.getpid(), id(self), len(jobs)]) + "\\n")
    return real_draw(self, jobs)

charts.Drawer.__init__, charts.Drawer.draw = init, draw
root = Path(sys.argv[1])
with opened(None) as store:
    result = pipeline.build_and_remember(
        root, Path(sys.argv[3]), None, None, False, pipeline.build_date(), lambda *a: None,
        store, "key",
    )
calls = [json.loads(line) for line in log.read_text().splitlines()]
early, pid = made[0]
try:
    os.waitpid(pid, os.WNOHANG)  # reaped by the build: no such child any more
    gone = False
except ChildProcessError:
    gone = True
print(json.dumps({
    "written": bool(result.written),
    "drawers": len(made),
    "used": [c[1] == id(early) and c[0] != os.getpid() for c in calls],
    "drawings": sum(c[2] for c in calls),
    "ended": pid != 0 and early._pid == 0 and gone,
}))
"""


def test_a_build_starts_the_drawer_first_and_its_charts_child_draws_with_it(
    tmp_path: Path,
) -> None:
    """The build forks the drawer before it loads anything (``charts.early_drawer``), so its
    engine is ready when the charts are: the charts child draws with that one (it starts no
    other), and the build ends it."""
    done = subprocess.run(
        [sys.executable, "-c", _EARLY, str(EXAMPLE), str(tmp_path / "log"), str(tmp_path / "s")],
        check=True, capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")},
    )  # fmt: skip
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["written"] and out["drawers"] == 1
    assert out["used"] == [True] and out["drawings"] > 10  # one batch, every static SVG
    assert out["ended"]

"""A synthetic git history for the history stage: N records moved through a pipeline by M commits.

``make_history_repo`` writes the whole history with one ``git fast-import`` process: records are
created in year folders (``data/opportunities/2023/...``, 2017 to 2026), then moved stage by
stage, their amounts edited, a few renamed, and a deal closed in a later year moved to that
year's folder. Output depends only on the arguments: ``random.Random(seed)``, fixed commit dates
from :data:`FIRST_DAY` to :data:`TODAY`, no wall clock, so they always give the same commit SHAs.
Ten years of about 1,000 records per folder: fast-import rewrites the folder's tree object on
every commit, so 2,500 records per folder (four years) take 2.5 times longer to generate.

``main`` builds such a repo in a temporary folder, then times :func:`crmgen.history.read_history`
in fresh child processes (so that peak memory is the read's own): from scratch, from scratch
while writing the cache, with the cache and no new commit, and after one more commit (which must
equal a read from scratch).

Usage: ``python -m bench.history [--records 10000] [--commits 20000] [--seed 1] [--keep DIR]``
(``--keep``: leave the repo there, with the one more commit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from bench.generate import MARKER

FIRST_DAY = dt.date(2017, 1, 2)
TODAY = dt.date(2026, 11, 27)
#: The pipeline, in order; the last two close a deal.
STAGES = ("Lead", "Qualification", "Proposal sent", "Negotiation", "Closed won", "Closed lost")
AUTHORS = ("Maya Patel", "Tom Becker", "Léa Moreau", "Jonas Berg", "Aisha Okafor")
NAMES = ("Harbourlight", "Atlas", "Cloudnine", "Greenleaf", "Kestrel", "Oakmont", "Meridian")
LIST_KEYS = {"opportunities": "list"}
#: The environment git runs with here: no user or system config, fixed identities.
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}


def _git(root: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        env={**os.environ, **GIT_ENV, **(env or {})},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _text(slug: str, stage: str, amount: int, owner: str, edits: int) -> bytes:
    quoted = f'"{stage}"' if " " in stage else stage
    title = f"{slug.split('-')[0].title()} deal {slug.split('-')[1]}"
    body = f"Notes on {slug}.\n\n" + "".join(f"- edit {n}\n" for n in range(edits % 4))
    front = f"title: {title}\nlist: {quoted}\namount: {amount}\nowner: {owner}\n"
    return f"---\n{front}---\n{body}".encode()


class _Stream:
    """Writes a ``git fast-import`` stream: one commit at a time, on ``refs/heads/main``."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out

    def commit(self, when: int, author: str, message: str, ops: Sequence[bytes]) -> None:
        email = author.split()[0].lower().replace("é", "e") + "@example.com"
        ident = f"{author} <{email}> {when} +0100".encode()
        msg = message.encode()
        self.out.write(b"commit refs/heads/main\nauthor %s\ncommitter %s\n" % (ident, ident))
        self.out.write(b"data %d\n%s\n" % (len(msg), msg))
        for op in ops:
            self.out.write(op)
        self.out.write(b"\n")

    @staticmethod
    def write(path: str, data: bytes) -> bytes:
        return b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)

    @staticmethod
    def rename(old: str, new: str) -> bytes:
        return f"R {old} {new}\n".encode()


def make_history_repo(
    root: Path, records: int = 10_000, commits: int = 20_000, seed: int = 1
) -> None:
    """Create a git repo at ``root`` with ``commits`` commits over ``records`` records.

    One commit per change: ``records`` of them create a record (in the folder of its year, at
    stage Lead), the others move an open deal to its next stage or close it (a deal closed in a
    later year moves to that year's folder), edit an amount, or (1 in 200) rename a record.
    Dates run from :data:`FIRST_DAY` to :data:`TODAY`, one commit every few hours.
    """
    if commits < records:
        raise ValueError("every record needs its own commit: commits >= records")
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    start = int(dt.datetime.combine(FIRST_DAY, dt.time(9), dt.UTC).timestamp())
    span = int(dt.datetime.combine(TODAY, dt.time(17), dt.UTC).timestamp()) - start
    # path, stage index, amount, edits, by slug
    state: dict[str, tuple[str, int, int, int]] = {}
    open_deals: list[str] = []
    slugs: list[str] = []
    created = 0
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=root,
        env={**os.environ, **GIT_ENV},
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    stream = _Stream(proc.stdin)
    for n in range(commits):
        when = start + span * n // commits
        year = dt.datetime.fromtimestamp(when, dt.UTC).year
        author = AUTHORS[rng.randrange(len(AUTHORS))]
        ops: list[bytes] = []
        left = commits - n
        if created < records and (rng.random() * left < records - created or not open_deals):
            slug = f"{rng.choice(NAMES).lower()}-{created:05d}"
            created += 1
            path = f"data/opportunities/{year}/{slug}.md"
            state[slug] = (path, 0, rng.randrange(1, 200) * 500, 0)
            open_deals.append(slug)
            slugs.append(slug)
            message = f"New deal {slug}"
        else:
            pool = open_deals or slugs
            slug = pool[rng.randrange(len(pool))]
            path, stage, amount, edits = state[slug]
            folder, name = path.rsplit("/", 1)
            roll = rng.random()
            if roll < 0.7 and stage < 4:
                stage = stage + 1 if stage < 3 else rng.choice((4, 5))
                message = f"{slug}: {STAGES[stage]}"
                if stage >= 4 and folder != f"data/opportunities/{year}":
                    # A closed deal is filed in the folder of the year it closed.
                    ops.append(_Stream.rename(path, f"data/opportunities/{year}/{name}"))
                    path = f"data/opportunities/{year}/{name}"
            elif roll < 0.705:
                ops.append(_Stream.rename(path, f"{folder}/{name[:-3]}-x.md"))
                path, message = f"{folder}/{name[:-3]}-x.md", f"Rename {slug}"
            else:
                amount, edits = amount + rng.randrange(-10, 11) * 100 or 500, edits + 1
                message = f"{slug}: amount"
            state[slug] = (path, stage, amount, edits)
            if stage >= 4 and slug in open_deals:
                open_deals.remove(slug)
        path, stage, amount, edits = state[slug]
        if not message.startswith("Rename") or rng.random() < 0.5:  # some renames edit too
            ops.append(_Stream.write(path, _text(slug, STAGES[stage], amount, author, edits)))
        stream.commit(when, author, message, ops)
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    _git(root, "reset", "-q", "--hard", "main")
    (root / MARKER).write_text("generated by bench/history.py; may be replaced\n")


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_more_commit(root: Path) -> None:
    """Move the first open record to its next stage: one commit, with a fixed date."""
    folder = root / "data" / "opportunities"
    path = next(p for p in sorted(folder.rglob("*.md")) if "Closed" not in p.read_text())
    text = path.read_text(encoding="utf-8")
    stage = next(s for s in STAGES if f"list: {s}\n" in text or f'list: "{s}"\n' in text)
    new = STAGES[STAGES.index(stage) + 1]
    for old in (f"list: {stage}\n", f'list: "{stage}"\n'):
        text = text.replace(old, f'list: "{new}"\n')
    path.write_text(text, encoding="utf-8")
    date = dt.datetime.combine(TODAY, dt.time(18), dt.UTC).isoformat()
    env = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    _git(root, "commit", "-q", "-am", f"{path.stem}: {new}", env=env)


def child(mode: str, root: Path, cache: Path) -> dict[str, Any]:
    """One timed measurement (run in a fresh process): see :func:`main`."""
    from crmgen.history.log import read_history

    if mode == "incremental":  # prime the cache untimed, then add one commit
        read_history(root, LIST_KEYS, cache_dir=cache)
        one_more_commit(root)
    start = time.perf_counter()
    histories, _, notes = read_history(
        root, LIST_KEYS, cache_dir=None if mode == "scratch" else cache
    )
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {"seconds": seconds, "rss_mb": _peak_rss_mb()}
    result |= {"records": len(histories), "notes": [d.code for d in notes]}
    result["transitions"] = sum(len(h.transitions) for h in histories.values())
    if mode == "incremental":
        fresh, _, _ = read_history(root, LIST_KEYS)
        result["equals_scratch"] = fresh == histories
    return result


def _child(mode: str, root: Path, cache: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.history", "--child", mode, str(root), str(cache)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the repo here (default: a temp folder)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, root, cache = args.child
        print(json.dumps(child(mode, Path(root), Path(cache))))
        return
    work = Path(tempfile.mkdtemp(prefix="crmgen-history-"))
    root = (args.keep or work / "repo").resolve()
    try:
        if root.exists() and not (root / MARKER).exists():
            parser.error(f"{root} exists and was not made by this benchmark; pick another --keep")
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        make_history_repo(root, args.records, args.commits, args.seed)
        seconds = time.perf_counter() - start
        print(f"history repo: {args.records:,} records, {args.commits:,} commits, seed "
              f"{args.seed}: generated in {seconds:.1f} s")  # fmt: skip
        runs = (
            ("scratch", "from scratch, no cache"),
            ("prime", "from scratch, writing the cache"),
            ("same", "cache, no new commit"),
            ("incremental", "cache, one new commit"),
        )
        for mode, label in runs:
            result = _child(mode, root, work / "cache")
            same = result.get("equals_scratch")
            extra = "" if same is None else f", equals a read from scratch: {same}"
            print(f"  {label}: {result['seconds']:.2f} s, peak RSS {result['rss_mb']:.0f} MB, "
                  f"{result['records']:,} records, {result['transitions']:,} transitions"
                  f"{extra}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

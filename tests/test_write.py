"""The atomic site writer: swap, failure, stale folders, escapes, and SIGKILL at any moment."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from crmgen import write
from crmgen.write import MARKER, SiteWriter, recover, write_site

REPO = Path(__file__).parent.parent


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_writes_and_replaces_the_whole_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site({"index.html": b"one", "a/b/c.html": b"deep", "old.html": b"x"}, out)
    assert snapshot(out) == {
        "index.html": b"one", "a/b/c.html": b"deep", "old.html": b"x", MARKER: write.MARKER_TEXT,
    }  # fmt: skip
    write_site({"index.html": b"two"}, out)
    assert snapshot(out) == {"index.html": b"two", MARKER: write.MARKER_TEXT}
    assert leftovers(out) == []


class Exploding(Mapping[str, bytes]):
    """A files mapping that fails while being read, like a render that raises midway."""

    def __init__(self, good: int) -> None:
        self.keys_ = [f"page{i}.html" for i in range(10)]
        self.good = good

    def __getitem__(self, key: str) -> bytes:
        if self.keys_.index(key) >= self.good:
            raise RuntimeError("render failed")
        return b"new"

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)


def test_failure_mid_iteration_keeps_the_old_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site({"index.html": b"old", "page1.html": b"old"}, out)
    before = snapshot(out)
    with pytest.raises(RuntimeError, match="render failed"):
        write_site(Exploding(good=3), out)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_stale_staging_and_old_folders_are_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site({"index.html": b"old"}, out)
    for name in (".site.staging-0123abcd", ".site.old-4567ef01"):
        (tmp_path / name / "x").mkdir(parents=True)
        (tmp_path / name / "x" / "junk.html").write_bytes(b"junk")
    (tmp_path / ".other.staging-1").mkdir()  # another output's: not ours to touch
    write_site({"index.html": b"new"}, out)
    assert snapshot(out)["index.html"] == b"new"
    assert leftovers(out) == []
    assert (tmp_path / ".other.staging-1").is_dir()


def test_a_site_renamed_aside_is_restored(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site({"index.html": b"old"}, out)
    aside = tmp_path / ".site.old-deadbeef"
    os.rename(out, aside)  # killed between the two renames of the fallback swap
    (tmp_path / ".site.staging-cafe").mkdir()
    recover(out)
    assert snapshot(out)["index.html"] == b"old"
    assert leftovers(out) == []


def test_fallback_swap_without_renameat2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write, "_exchange", lambda a, b: False)  # as on macOS or Windows
    out = tmp_path / "site"
    write_site({"index.html": b"old"}, out)
    write_site({"index.html": b"new", "more.html": b"more"}, out)
    assert snapshot(out) == {"index.html": b"new", "more.html": b"more", MARKER: write.MARKER_TEXT}
    assert leftovers(out) == []


@pytest.mark.parametrize(
    "bad",
    ["../evil.html", "/abs.html", "a/../../evil.html", "a\\..\\evil", "", "a//b", "./x", MARKER,
     "a\x00b.html", "a\nb.html", "x/\x1b[31m.html", "a\x7f.html", "C:/evil.html", ".git/hooks/x",
     "a/."],
)  # fmt: skip
def test_paths_escaping_the_output_are_refused(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "site"
    write_site({"index.html": b"old"}, out)
    with pytest.raises(ValueError, match="refusing to write"):
        write_site({"index.html": b"new", bad: b"evil"}, out)
    assert snapshot(out)["index.html"] == b"old"
    assert not (tmp_path / "evil.html").exists()
    assert leftovers(out) == []


def test_a_symlinked_output_folder_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("mine", encoding="utf-8")
    (target / MARKER).write_bytes(write.MARKER_TEXT)  # even one that looks like a site
    out = tmp_path / "site"
    out.symlink_to(target, target_is_directory=True)
    with pytest.raises(FileExistsError, match="not a folder"):
        write_site({"index.html": b"x"}, out)
    assert out.is_symlink() and (target / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert not (target / "index.html").exists()
    assert leftovers(out) == []


def test_a_file_at_the_output_path_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.write_text("not a folder", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not a folder"):
        write_site({"index.html": b"x"}, out)
    assert out.read_text(encoding="utf-8") == "not a folder"


def test_a_folder_that_is_not_a_site_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "repo"
    out.mkdir()
    (out / "crmgen.yml").write_text("title: precious\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not a crmgen site"):
        write_site({"index.html": b"x"}, out)
    assert (out / "crmgen.yml").read_text(encoding="utf-8") == "title: precious\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    write_site({"index.html": b"x"}, empty)
    assert (empty / "index.html").read_bytes() == b"x"


WRITER = """\
import hashlib, json, sys
from pathlib import Path
from crmgen.write import write_site

out, generation = Path(sys.argv[1]), sys.argv[2]
files = {f"d{i % 7}/p{i}.html": (generation * 500 + str(i)).encode() for i in range(150)}
manifest = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
files["manifest.json"] = json.dumps({"generation": generation, "files": manifest}).encode()
write_site(files, out)
"""


def check_whole(out: Path) -> str:
    """The site is exactly what its manifest lists; returns its generation."""
    files = snapshot(out)
    manifest = json.loads(files.pop("manifest.json"))
    assert files.pop(MARKER) == write.MARKER_TEXT
    assert sorted(files) == sorted(manifest["files"])
    for path, digest in manifest["files"].items():
        assert hashlib.sha256(files[path]).hexdigest() == digest, path
    return str(manifest["generation"])


def test_sigkill_at_any_moment_leaves_a_whole_site(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    out = tmp_path / "site"
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(generation: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, str(script), str(out), generation], env=env)

    started = time.monotonic()
    assert run("g0").wait() == 0
    duration = time.monotonic() - started
    assert check_whole(out) == "g0"
    rng = random.Random(20261127)
    interrupted = 0  # kills that left a staging folder: the old site had to survive them
    for attempt in range(1, 31):
        process = run(f"g{attempt}")
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_whole(out)
        interrupted += any(".staging-" in name for name in leftovers(out))
        if attempt >= 8 and interrupted:
            break
    assert interrupted, "no kill landed while the site was being staged; nothing was tested"
    assert run("final").wait() == 0
    assert check_whole(out) == "final"
    assert leftovers(out) == []


def test_unchanged_files_are_linked_and_an_equal_site_is_not_swapped(tmp_path: Path) -> None:
    out = tmp_path / "site"
    remembered = tmp_path / "cache" / "site.json"
    assert write_site({"a.html": b"one", "b/c.html": b"two"}, out, remembered) is True
    first = {p: (out / p).stat().st_ino for p in ("a.html", "b/c.html")}
    manifest = json.loads(remembered.read_text())
    assert manifest["version"] == 3
    assert {path: value[:2] for path, value in manifest["files"].items()} == {
        "a.html": [hashlib.sha256(b"one").hexdigest(), 3],
        "b/c.html": [hashlib.sha256(b"two").hexdigest(), 3],
    }
    # the same files again: nothing is swapped, the folder is the very same
    inode = out.stat().st_ino
    assert write_site({"a.html": b"one", "b/c.html": b"two"}, out, remembered) is False
    assert out.stat().st_ino == inode and leftovers(out) == []
    # one file changes: the other is the same inode (linked, not written again)
    with SiteWriter(out, remembered) as writer:
        writer.put("a.html", b"ONE")
        writer.put("b/c.html", b"two")
        assert writer.written == 1
        assert writer.commit() is True
    assert (out / "b/c.html").stat().st_ino == first["b/c.html"]
    assert (out / "a.html").stat().st_ino != first["a.html"]
    assert snapshot(out) == {"a.html": b"ONE", "b/c.html": b"two", MARKER: write.MARKER_TEXT}


def test_a_page_is_kept_only_when_its_key_and_its_file_are_unchanged(tmp_path: Path) -> None:
    """``keep`` links a page of the current site only when its key is the one the manifest
    has and the file is the regular file the manifest saw (not changed, not a link)."""
    out, remembered = tmp_path / "site", tmp_path / "site.json"
    pages = {"a.html": b"one", "deep/b.html": b"two", "deep/c.html": b"3", "d.html": b"4"}
    with SiteWriter(out, remembered) as writer:
        for rel, content in pages.items():
            writer.put(rel, content, key=f"key-{rel}")
        writer.commit()
    time.sleep(0.02)
    (out / "deep" / "c.html").unlink()
    (out / "deep" / "c.html").write_bytes(b"x")  # changed by hand
    (out / "d.html").unlink()
    (out / "d.html").symlink_to(tmp_path / "elsewhere.html")  # replaced by a link
    (tmp_path / "elsewhere.html").write_bytes(b"4")
    with SiteWriter(out, remembered) as writer:
        kept = {rel: writer.keep(rel, f"key-{rel}") for rel in pages}
        assert kept == {"a.html": True, "deep/b.html": True, "deep/c.html": False, "d.html": False}
        assert writer.keep("a.html", "key-a.html") is False  # already in the new site
        assert writer.keep("new.html", "key-new.html") is False  # not in the current site
        writer.put("deep/c.html", b"3")
        writer.put("d.html", b"4")
        assert writer.kept == 2
        writer.commit()
    assert snapshot(out) == {**pages, MARKER: write.MARKER_TEXT}
    assert not (out / "d.html").is_symlink()
    with SiteWriter(out, remembered) as writer:  # another key: rendered again
        assert writer.keep("a.html", "another key") is False


def test_a_file_changed_by_hand_is_written_again(tmp_path: Path) -> None:
    out = tmp_path / "site"
    remembered = tmp_path / "site.json"
    write_site({"a.html": b"one", "b.html": b"two"}, out, remembered)
    time.sleep(0.02)  # file times tick every few milliseconds; a person is slower
    (out / "a.html").unlink()
    (out / "a.html").write_bytes(b"two")  # same size; the manifest still says "one"
    write_site({"a.html": b"one", "b.html": b"two"}, out, remembered)
    assert (out / "a.html").read_bytes() == b"one"


def test_a_corrupt_manifest_only_costs_speed(tmp_path: Path) -> None:
    out = tmp_path / "site"
    remembered = tmp_path / "site.json"
    write_site({"a.html": b"one"}, out, remembered)
    remembered.write_text("{not json")
    write_site({"a.html": b"two"}, out, remembered)
    assert snapshot(out) == {"a.html": b"two", MARKER: write.MARKER_TEXT}


def test_two_files_at_one_path_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with SiteWriter(out) as writer:
        writer.put("a.html", b"one")
        with pytest.raises(ValueError, match=r"two files of the site would be written to a\.html"):
            writer.put("a.html", b"two")
    assert not out.exists() and leftovers(out) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux only")
def test_on_linux_an_existing_site_is_swapped_in_one_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    write_site({"index.html": b"old"}, out)
    renames: list[tuple[str, str]] = []
    real_rename = os.rename

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        renames.append((os.fspath(src), os.fspath(dst)))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", spy)
    write_site({"index.html": b"new"}, out)
    # renameat2(RENAME_EXCHANGE): the output never goes missing, no rename aside is needed
    assert renames == []
    assert snapshot(out) == {"index.html": b"new", MARKER: write.MARKER_TEXT}
    assert leftovers(out) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux only")
def test_exchange_swaps_two_folders_or_says_why_not(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    (a / "from-a").write_bytes(b"a")
    (b / "from-b").write_bytes(b"b")
    assert write._exchange(a, b) is True
    assert sorted(p.name for p in a.iterdir()) == ["from-b"]
    assert sorted(p.name for p in b.iterdir()) == ["from-a", "sub"]
    # EINVAL (here: a folder swapped with its own subfolder) means "not possible": fall back
    assert write._exchange(b, b / "sub") is False
    # any other failure is an error naming the path and its errno
    with pytest.raises(OSError) as info:
        write._exchange(tmp_path / "missing", b)
    assert info.value.errno == errno.ENOENT
    assert str(info.value) == f"[Errno {errno.ENOENT}] No such file or directory: '{b}'"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux only")
def test_exchange_takes_paths_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "from-a").write_bytes(b"a")
    monkeypatch.chdir(tmp_path)
    assert write._exchange(Path("a"), Path("b")) is True
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from-a"]


def test_without_renameat2_exchange_declines_and_the_fallback_swaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setattr(write.sys, "platform", "darwin")
    assert write._exchange(a, b) is False
    monkeypatch.setattr(write.sys, "platform", "linux")
    monkeypatch.setattr(write.ctypes, "CDLL", lambda *args, **kwargs: object())  # an old libc
    assert write._exchange(a, b) is False
    out = tmp_path / "site"
    write_site({"index.html": b"old"}, out)
    write_site({"index.html": b"new"}, out)
    assert snapshot(out) == {"index.html": b"new", MARKER: write.MARKER_TEXT}
    assert leftovers(out) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_the_whole_new_site_is_made_durable_before_it_is_swapped_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, object]] = []
    real_sync, real_fsync = write._sync_tree, os.fsync

    def sync_tree(path: Path) -> None:  # one syncfs of the staging folder's file system
        events.append(("sync", snapshot(path)))
        real_sync(path)

    def fsync(fd: int) -> None:
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    monkeypatch.setattr(write, "_sync_tree", sync_tree)
    monkeypatch.setattr(os, "fsync", fsync)
    files = {"index.html": b"i", "d/e/deep.html": b"x", "d/f.html": b"y"}
    write_site(files, tmp_path / "site")
    # everything, marker included, was in the staging folder when it was synced; then the
    # folder the site was renamed into was fsynced, once
    assert events == [("sync", {**files, MARKER: write.MARKER_TEXT}), ("fsync", tmp_path)]


def test_folders_are_not_opened_for_fsync_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[object] = []
    monkeypatch.setattr(write.sys, "platform", "win32")
    monkeypatch.setattr(os, "open", lambda *args, **kwargs: opened.append(args))
    write._fsync_dir(tmp_path)
    assert opened == []


def test_the_refusal_to_replace_a_folder_says_what_to_do(tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.mkdir()
    (out / "crmgen.yml").write_text("title: precious\n", encoding="utf-8")
    with pytest.raises(FileExistsError) as info:
        write_site({"index.html": b"x"}, out)
    assert str(info.value) == (
        f"{out} is not a crmgen site (no {MARKER} in it); refusing to replace it. "
        "Remove it or choose another output folder."
    )


def test_missing_parent_folders_are_created_and_names_may_hold_spaces(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "site"
    write_site({"files/acme/Q1 report.pdf": b"pdf", "index.html": b"i"}, out)
    assert snapshot(out) == {
        "files/acme/Q1 report.pdf": b"pdf",
        "index.html": b"i",
        MARKER: write.MARKER_TEXT,
    }


def test_a_leftover_that_cannot_be_removed_does_not_stop_the_write(tmp_path: Path) -> None:
    out = tmp_path / "site"
    stray = tmp_path / ".site.staging-stray"
    stray.write_bytes(b"not a folder")  # rmtree() fails on it
    write_site({"index.html": b"new"}, out)
    assert snapshot(out) == {"index.html": b"new", MARKER: write.MARKER_TEXT}

from __future__ import annotations

import os
from pathlib import Path

from crmgen.sources import inside, read_text


def test_read_text_checks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "ok.md").write_bytes("\ufeffhé".encode())
    assert read_text(root, root / "ok.md") == ("hé", [])
    (root / "bad.md").write_bytes(b"line one\nab\xffc\n")
    text, diags = read_text(root, root / "bad.md")
    assert text is None and (diags[0].line, diags[0].col) == (2, 3)
    (root / "nul.md").write_bytes(b"a\x00b")
    assert read_text(root, root / "nul.md")[1][0].code == "encoding"
    (root / "big.md").write_bytes(b"x" * 2000)
    assert read_text(root, root / "big.md", max_size=1000)[1][0].code == "too-large"
    (tmp_path / "outside.md").write_text("secret")
    os.symlink(tmp_path / "outside.md", root / "link.md")
    assert read_text(root, root / "link.md")[1][0].code == "symlink-outside"
    assert not inside(root, root / "link.md")
    assert inside(root, root / "ok.md")

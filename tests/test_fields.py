from __future__ import annotations

import pytest

from crmgen.fields import FIELD_TYPES, check_email, check_phone, check_rating, infer_type
from crmgen.fields import normalize_url as url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com/a?b=c#d", "https://example.com/a?b=c#d"),
        ("  https://example.com  ", "https://example.com"),
        ("\x01\x1fhttp://example.com", "http://example.com"),
        ("https://exa\tmple.com/", "https://example.com/"),
        ("HTTPS://EXAMPLE.COM", "HTTPS://EXAMPLE.COM"),
        ("javascript:alert(1)", None),
        (" JaVaScRiPt:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("\x00javascript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("vbscript:msgbox", None),
        ("ftp://example.com", None),
        ("https:///nohost", None),
        ("//example.com", None),
        ("example.com", None),
        ("https://exa mple.com\x7f", None),
    ],
)
def test_urls_are_parsed_like_a_browser(raw: str, expected: str | None) -> None:
    assert url(raw) == expected


def test_email_phone_rating() -> None:
    assert check_email("a.b+c@mail.example.co.uk") is None
    for bad in ("a@b", "@b.c", "a b@c.d", "a@@b.c", 3, "x" * 250 + "@a.bc"):
        assert check_email(bad) is not None
    assert check_phone("+44 20 7946 0958") is None
    assert check_phone("(030) 123-456 ext. 12") is None
    for bad in ("call me", "123", "+1" + "2" * 25, 4915112345):
        assert check_phone(bad) is not None
    assert check_rating(5) is None
    for bad in (6, -1, True, "3"):
        assert check_rating(bad) is not None


def test_registry_and_inference() -> None:
    assert {t for t, ft in FIELD_TYPES.items() if ft.computed} == {
        "lookup",
        "formula",
        "rollup",
        "referenced-by",
    }
    assert infer_type("list", {"type": "string"}) == "list"
    assert infer_type("due", {"type": "string", "format": "date"}) == "date"
    assert infer_type("size", {"enum": ["a", "b"]}) == "select"
    assert infer_type("n", {"type": "integer"}) == "number"
    assert infer_type("ok", {"type": "boolean"}) == "checkbox"
    assert infer_type("x", {"type": "array", "items": {"enum": ["a"]}}) == "multi-select"

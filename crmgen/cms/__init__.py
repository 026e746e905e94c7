"""Editors in a form for people who do not use git: a Decap CMS ``admin/config.yml``
(``decap``) and a Front Matter CMS ``frontmatter.json`` (``frontmatter``), made from the
schemas. Both edit the same Markdown files as everyone else; every edit through Decap is a
pull request (its editorial workflow), which CI checks like any other.

What both share: every stored field of every project, in schema order, with its label,
description, default and whether it is required; computed fields (lookup, formula, rollup,
referenced-by) are never offered, since the build computes them. Restricted fields are offered,
with a hint saying who sees them on the site: whoever can edit the repository can already read
them, and these editors publish nothing.
"""

from __future__ import annotations

from crmgen.model import FieldSpec

#: A text that looks like an e-mail address, a phone number or a web address (the same
#: shapes ``crmgen validate`` checks, loosely: the pull request's check is the real one).
PATTERNS = {
    "email": (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an e-mail address like name@example.com"),
    "phone": (r"^\+?[0-9 ()./-]+((ext\.?|x) ?[0-9]{1,6})?$", "a phone number like +49 30 1234"),
    "url": (r"^https?://[^\s]+$", "an address starting with https://"),
}


def hint(spec: FieldSpec) -> str:
    """A field's description, and who sees it when it is restricted."""
    parts = [str(spec.schema.get("description") or "").strip()]
    if spec.audiences:
        parts.append(f"On the site only {', '.join(spec.audiences)} see this field.")
    return " ".join(p for p in parts if p)


def pattern(spec: FieldSpec) -> tuple[str, str] | None:
    """The schema's ``pattern``, else the shape of an e-mail, phone or URL field."""
    declared = spec.schema.get("pattern")
    if isinstance(declared, str):
        return declared, f"text matching {declared}"
    return PATTERNS.get(spec.type)


def editable(spec: FieldSpec) -> bool:
    return not spec.computed

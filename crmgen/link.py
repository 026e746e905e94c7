"""Stage: resolve references between records and collect back-links.

An unknown slug is an error with a "did you mean" (by slug, or by title when the author
typed the name instead of the id), at the value. Every record gets ``backlinks``: project ->
reference field -> slugs of the records there that reference it through that field;
referenced-by fields are filled from them. A reference to a project whose schema did not load is
skipped here: the schema's own errors say what to fix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from crmgen import messages
from crmgen.model import Diagnostic, ProjectSchema, Record, error, evolve, frozen_map


def _hint(slug: str, targets: Mapping[str, Record], title_field: str) -> str:
    by_title = {str(r.values.get(title_field, "")).lower(): s for s, r in targets.items()}
    if slug.lower() in by_title:
        return f"; did you mean '{by_title[slug.lower()]}' (its title is '{slug}')?"
    return messages.did_you_mean(slug, targets)


def link_records(
    schemas: Mapping[str, ProjectSchema],
    records: Mapping[str, Mapping[str, Record]],
) -> tuple[dict[str, dict[str, Record]], list[Diagnostic]]:
    """Check every reference and attach back-links and referenced-by values."""
    diags: list[Diagnostic] = []
    # (target project, target slug) -> source project -> field -> [source slugs]
    back: dict[tuple[str, str], dict[str, dict[str, list[str]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for name, by_slug in records.items():
        refs = [f for f in schemas[name].fields if f.type == "reference" and f.target]
        for record in by_slug.values():
            for spec in refs:
                assert spec.target is not None
                value = record.values.get(spec.name)
                if value is None or spec.target not in records:
                    continue
                slugs = value if isinstance(value, tuple) else (value,)
                targets = records[spec.target]
                for index, slug in enumerate(slugs):
                    if not isinstance(slug, str):
                        continue
                    if slug in targets:
                        back[(spec.target, slug)][name][spec.name].append(record.slug)
                        continue
                    key = f"{spec.name}/{index}" if isinstance(value, tuple) else spec.name
                    pos = record.value_pos(key)
                    hint = _hint(slug, targets, schemas[spec.target].title_field)
                    diags.append(
                        error(
                            "unknown-reference",
                            f"{spec.name} '{slug}' does not exist in {spec.target}{hint}",
                            record.path,
                            pos,
                            spec.name,
                        )
                    )
    out: dict[str, dict[str, Record]] = {}
    for name, by_slug in records.items():
        backfields = [f for f in schemas[name].fields if f.type == "referenced-by"]
        out[name] = {}
        for slug, record in by_slug.items():
            incoming = back.get((name, slug), {})
            backlinks = frozen_map(
                {
                    project: frozen_map(
                        {f: tuple(sorted(set(ss))) for f, ss in sorted(fields.items())}
                    )
                    for project, fields in sorted(incoming.items())
                }
            )
            record = evolve(record, backlinks=backlinks)
            if backfields:
                computed = dict(record.computed)
                for spec in backfields:
                    chosen = record.linked_from(spec.target or "", spec.via)
                    computed[spec.name] = tuple(f"{spec.target}/{s}" for s in chosen)
                record = evolve(record, computed=frozen_map(computed))
            out[name][slug] = record
    return out, diags

"""A dataset cut for an audience -> view models: formatting, board, table, record pages.

``make_dataset`` builds a finished Dataset by hand (as load/link/compute would, ``reads`` and
back-links included) and is shared with ``test_render`` and ``test_redaction``; ``site_for``
cuts it for an audience and builds the views, as ``build_site`` does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest

from crmgen.model import (
    AudienceSpec,
    Config,
    Dataset,
    FieldSpec,
    ListSpec,
    Project,
    ProjectSchema,
    Record,
    frozen_map,
)
from crmgen.redaction import redact
from crmgen.schema import with_defaults
from crmgen.views import SiteView, build_site_views
from crmgen.views import pages as site_pages

TODAY = dt.date(2026, 11, 27)
MANAGERS = ("managers",)
#: Values only managers may see; none may appear anywhere in a default-audience view.
SECRETS = ("18123", "18,123", "23877", "23,877", "TOPSECRET", "0.5685", "partner", "nda.pdf")


def field(name: str, type_: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, type_, kw.pop("label", name.replace("_", " ").capitalize()), **kw)


def rec(project: str, slug: str, values: dict[str, Any], computed: dict[str, Any] | None = None,
        body: str = "", backlinks: dict[str, dict[str, tuple[str, ...]]] | None = None,
        ) -> Record:  # fmt: skip
    return Record(
        project=project,
        slug=slug,
        path=f"data/{project}/{slug}.md",
        values=frozen_map(values),
        positions=frozen_map({}),
        body=body,
        computed=frozen_map(computed or {}),
        backlinks=frozen_map({p: frozen_map(f) for p, f in (backlinks or {}).items()}),
    )


#: What each computed field reads, as the compute stage would record it.
READS = {
    ("opportunities", "profit"): {("opportunities", "amount"), ("opportunities", "cost")},
    ("opportunities", "margin"): {("opportunities", "profit"), ("opportunities", "amount")},
    ("opportunities", "client_email"): {("opportunities", "client"), ("clients", "email")},
    ("opportunities", "client_secret"): {
        ("opportunities", "client"),
        ("clients", "secret_note"),
    },
    ("clients", "deals"): {("opportunities", "client")},
    ("clients", "partnered"): {("opportunities", "partner")},
}


def site_for(dataset: Dataset, audience: str | None = None) -> SiteView:
    """The views of ``dataset`` cut for ``audience``, as ``build_site`` builds them."""
    cut, problems = redact(dataset, audience)
    assert problems == []
    return build_site_views(cut)


def pages(site: SiteView) -> list[Any]:
    return site_pages(site)[0]


def make_dataset(*, restrict_amount: bool = False, config: Config | None = None) -> Dataset:
    """Clients and opportunities with restricted fields, lookups, formulas and references."""
    clients = with_defaults(
        ProjectSchema(
            name="clients",
            path="schema/clients.schema.yaml",
            title="Clients",
            title_field="title",
            fields=(
                field("title", "text", required=True),
                field("email", "email"),
                field("website", "url"),
                field("secret_note", "text", audiences=MANAGERS),
                field("contract", "file", audiences=MANAGERS),
                field("logo", "file"),
                field("deals", "referenced-by", target="opportunities", via="client"),
                field("partnered", "referenced-by", target="opportunities", via="partner"),
            ),
        )
    )
    amount_audiences = MANAGERS if restrict_amount else ()
    opps = with_defaults(
        ProjectSchema(
            name="opportunities",
            path="schema/opportunities.schema.yaml",
            title="Opportunities",
            title_field="title",
            lists=(
                ListSpec("Lead", "open", Decimal("0.1")),
                ListSpec("Proposal sent", "open", Decimal("0.5")),
                ListSpec("Closed won", "won", Decimal(1)),
                ListSpec("Closed lost", "lost", Decimal(0)),
            ),
            tags=("branding", "seo", "website"),
            fields=(
                field("title", "text", required=True),
                field("list", "list"),
                field("tags", "tags"),
                field("client", "reference", target="clients"),
                field("partner", "reference", target="clients", audiences=MANAGERS),
                field("amount", "currency", audiences=amount_audiences),
                field("cost", "currency", audiences=MANAGERS),
                field("profit", "formula", expression="amount - cost", result="currency"),
                field("margin", "formula", expression="profit / amount", result="number"),
                field("client_email", "lookup", path="client.email", result="email"),
                field("client_secret", "lookup", path="client.secret_note", result="text"),
                field("confidence", "rating"),
                field("owner", "text"),
                field("expected_close", "date"),
            ),
        )
    )
    client_records = {
        "acme": rec(
            "clients",
            "acme",
            {
                "title": "Acme Corp",
                "email": "info@acme.example",
                "website": "javascript:alert(1)",
                "secret_note": "TOPSECRET-ACME",
                "contract": "files/acme/nda.pdf",
                "logo": "files/acme/logo.png",
            },
            {"deals": ("opportunities/acme-web", "opportunities/small-lead"), "partnered": ()},
            body="# Minutes\n\nMet <script>alert(1)</script> **Ann**.",
            backlinks={"opportunities": {"client": ("acme-web", "small-lead")}},
        ),
        "globex": rec(
            "clients",
            "globex",
            {"title": "Globex", "secret_note": "TOPSECRET-GLOBEX", "logo": "../crmgen.yml"},
            {"deals": ("opportunities/big-win",), "partnered": ("opportunities/acme-web",)},
            backlinks={"opportunities": {"client": ("big-win",), "partner": ("acme-web",)}},
        ),
    }
    opp_records = {
        "acme-web": rec(
            "opportunities",
            "acme-web",
            {
                "title": "Acme website",
                "list": "Proposal sent",
                "tags": ("website", "seo"),
                "client": "acme",
                "partner": "globex",
                "amount": 42000,
                "cost": 18123,
                "confidence": 4,
                "owner": "ann",
                "expected_close": dt.date(2026, 12, 15),
            },
            {
                "profit": 23877,
                "margin": Decimal("0.5685"),
                "client_email": "info@acme.example",
                "client_secret": "TOPSECRET-ACME",
            },
        ),
        "big-win": rec(
            "opportunities",
            "big-win",
            {
                "title": "Big win",
                "list": "Closed won",
                "client": "globex",
                "amount": Decimal("1000.50"),
                "cost": 777,
            },
            {"profit": Decimal("223.50"), "client_secret": "TOPSECRET-GLOBEX"},
        ),
        "small-lead": rec(
            "opportunities",
            "small-lead",
            {"title": "Small lead", "list": "Lead", "client": "acme", "tags": ("branding",)},
            {"client_email": "info@acme.example", "client_secret": "TOPSECRET-ACME"},
        ),
    }
    projects = {
        "clients": Project(clients, frozen_map(dict(sorted(client_records.items())))),
        "opportunities": Project(opps, frozen_map(dict(sorted(opp_records.items())))),
    }
    config = config or Config(
        title="Test CRM",
        currency="EUR",
        locale="en_GB",
        projects=("clients", "opportunities"),
        audiences=(AudienceSpec("staff"), AudienceSpec("managers")),
    )
    reads = {node: frozenset(found) for node, found in READS.items()}
    return Dataset("/repo", config, frozen_map(projects), TODAY, reads=frozen_map(reads))


def strings(value: Any) -> Iterator[str]:
    """Every string inside a view model (field names, texts, hrefs, machine values)."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from strings(getattr(value, f.name))
    elif isinstance(value, Sequence):  # tuples, and the rows and records made when asked for
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif value is not None:
        yield str(value)


def everything(site: SiteView) -> str:
    return "\n".join(strings(site))


def opportunities(site: SiteView) -> Any:
    return next(p for p in site.projects if p.name == "opportunities")


def clients(site: SiteView) -> Any:
    return next(p for p in site.projects if p.name == "clients")


def test_restricted_values_appear_in_no_view_for_the_default_audience() -> None:
    text = everything(site_for(make_dataset()))
    for secret in SECRETS:
        assert secret not in text, secret
    # field names too: no column, card field or record field for them
    for hidden in ("cost", "profit", "margin", "client_secret", "partner", "secret_note"):
        assert f"\n{hidden}\n" not in f"\n{text}\n", hidden


def test_restricted_values_appear_for_their_audience() -> None:
    site = site_for(make_dataset(), "managers")
    text = everything(site)
    for shown in ("€18,123", "€23,877", "TOPSECRET-ACME", "0.5685", "nda.pdf"):
        assert shown in text, shown
    assert site.attachments == ("files/acme/logo.png", "files/acme/nda.pdf")


def test_an_audience_no_field_names_sees_what_the_default_sees() -> None:
    assert everything(site_for(make_dataset(), "staff")) == everything(
        dataclasses.replace(site_for(make_dataset()), audience="staff")
    )


def test_back_links_through_hidden_references_are_dropped() -> None:
    def referencing(site: SiteView, slug: str) -> list[str]:
        record = next(r for r in clients(site).records if r.slug == slug)
        return [link.label for group in record.referenced_by for link in group.links]

    assert referencing(site_for(make_dataset()), "globex") == ["Big win"]
    managers = site_for(make_dataset(), "managers")
    assert referencing(managers, "globex") == ["Acme website", "Big win"]


def test_board_columns_totals_and_cards() -> None:
    board = opportunities(site_for(make_dataset())).board
    assert [c.name for c in board.columns] == [
        "Lead",
        "Proposal sent",
        "Closed won",
        "Closed lost",
    ]
    assert [c.collapsed for c in board.columns] == [False, False, True, True]
    sent = board.columns[1]
    assert (sent.count, sent.total.sort, sent.weighted.sort) == (1, "42000", "21000")
    assert (sent.total.text, sent.weighted.text, sent.probability) == ("€42,000", "€21,000", "50%")
    won = board.columns[2]
    assert (won.total.sort, won.weighted.sort, won.total.text) == ("1000.5", "1000.5", "€1,000.50")
    card = sent.cards[0]
    assert (card.slug, card.title, card.href, card.amount) == (
        "acme-web", "Acme website", "opportunities/acme-web.html", "42000",
    )  # fmt: skip
    # by roles, not names: amount and the parent on line two, owner and close date on three
    assert [v.name for v in card.primary] == ["amount", "client"]
    assert [v.name for v in card.secondary] == ["owner", "expected_close"]
    shown = {v.name: v for v in card.fields}
    assert shown["client"].shown.links[0].label == "Acme Corp"
    assert shown["client"].shown.links[0].href == "clients/acme.html"
    assert shown["expected_close"].shown.text == "15 Dec 2026"
    assert card.tags == ()  # tags are chips only when the card declares them


def test_board_has_no_money_when_amount_is_restricted() -> None:
    board = opportunities(site_for(make_dataset(restrict_amount=True))).board
    assert all(c.total is None and c.weighted is None for c in board.columns)
    assert all(card.amount == "" for c in board.columns for card in c.cards)
    assert "42000" not in everything(site_for(make_dataset(restrict_amount=True)))


def test_table_has_every_visible_field_with_machine_values() -> None:
    table = opportunities(site_for(make_dataset())).table
    names = [c.name for c in table.columns]
    # the title, list, roles and tags first (shown), then every other field one click away
    assert names == [
        "title", "list", "client", "amount", "owner", "expected_close", "tags", "client_email",
        "confidence",
    ]  # fmt: skip
    assert [c.shown for c in table.columns] == [True] * 7 + [False] * 2
    types = {c.name: c.sort_type for c in table.columns}
    assert types["amount"] == types["confidence"] == "number"
    assert types["expected_close"] == "text"
    row = next(r for r in table.rows if r.slug == "acme-web")
    cells = {c.name: c for c in row.cells}
    assert cells["title"].shown.links[0].href == "opportunities/acme-web.html"
    assert cells["amount"].shown.sort == "42000"
    assert cells["expected_close"].shown.sort == "2026-12-15"
    assert (row.list, row.tags_json) == ("Proposal sent", '["seo", "website"]')
    assert table.lists == ("Lead", "Proposal sent", "Closed won", "Closed lost")
    assert table.tags == ("branding", "seo", "website")


def test_record_page_formats_fields_and_shows_their_origin() -> None:
    site = site_for(make_dataset(), "managers")
    record = next(r for r in opportunities(site).records if r.slug == "acme-web")
    fields = {v.name: v for v in record.fields}
    assert "title" not in fields  # it is the page's heading
    assert fields["amount"].shown.text == "€42,000"
    assert fields["profit"].origin == "= amount - cost"
    email = fields["client_email"]
    assert email.origin == "via client → email"
    assert email.shown.links[0].href == "mailto:info@acme.example"
    assert fields["partner"].shown.links[0].href == "clients/globex.html"


def test_unsafe_values_are_plain_text_and_bodies_sanitised() -> None:
    site = site_for(make_dataset(), "managers")
    acme = next(r for r in clients(site).records if r.slug == "acme")
    globex = next(r for r in clients(site).records if r.slug == "globex")
    website = next(v for v in acme.fields if v.name == "website")
    assert website.shown.links[0].href == ""  # javascript: is shown, never linked
    logo = next(v for v in globex.fields if v.name == "logo")
    assert logo.shown.links[0].href == ""  # a path out of the attachments folder
    assert "../crmgen.yml" not in site.attachments
    assert "<script>" not in acme.body_html and "&lt;script&gt;" in acme.body_html
    assert "<h2>Minutes</h2>" in acme.body_html


def test_pages_cover_every_project_and_record() -> None:
    site = site_for(make_dataset())
    paths = [p.path for p in pages(site)]
    assert paths == sorted(paths)
    assert paths == [
        "clients/acme.html", "clients/globex.html", "clients/index.html", "index.html",
        "opportunities/acme-web.html", "opportunities/big-win.html", "opportunities/board.html",
        "opportunities/index.html", "opportunities/small-lead.html",
    ]  # fmt: skip
    templates = {p.path: p.template for p in pages(site)}
    assert templates["opportunities/small-lead.html"] == "record.html"
    assert templates["opportunities/index.html"] == "table.html"


def test_attachments_are_visible_files_only() -> None:
    assert site_for(make_dataset()).attachments == ("files/acme/logo.png",)


@pytest.mark.parametrize("audience", [None, "managers"])
def test_views_are_deterministic(audience: str | None) -> None:
    first = site_for(make_dataset(), audience)
    assert first == site_for(make_dataset(), audience)

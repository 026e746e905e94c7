"""Synthetic data repos for the benchmark: N opportunities with clients, projects and invoices.

The repo re-uses the example's ``crmgen.yml``, ``schema/`` and ``files/`` so that every field
type, lookup, formula and rollup of the real schemas is exercised. Output depends only on the
seed: ``random.Random(seed)``, a fixed :data:`TODAY`, sorted writes, no wall clock.

Usage: ``python -m bench.generate OUT --records 10000 [--seed 0]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import re
import shutil
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The example repo (crmgen.yml, schema/, files/) next to this package.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: The last day of generated history; load the repo with this ``today``.
TODAY = dt.date(2026, 11, 27)
FIRST_DAY = dt.date(2024, 1, 1)
#: A file in OUT that marks it as generated, so that re-generating may replace it.
MARKER = ".crmgen-bench"

_PLAIN = re.compile(r"[A-Za-z0-9+][^\n\"]*")
_NUMBER_LIKE = re.compile(r"[-+]?[0-9][0-9_.:eE+-]*")
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})


# --- Vocabulary (";"-separated so that the lists stay compact) ----------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(";"))


OPEN_STAGES = _words(
    "Unqualified; Qualification; Proposal writing; Proposal sent; Negotiation; Contract to sign"
)
OPEN_WEIGHTS = (22, 20, 18, 18, 12, 10)
PREFIXES = _words(
    "Harbourlight; Atlas; Cloudnine; Greenleaf; Brightpath; Copperbeam; Kestrel; Oakmont; Lumen;"
    "Meridian; Quayside; Tidewater; Westport; Fernhill; Granite; Corrib; Saltmarsh; Pixelforge;"
    "Verity; Halden; Riverside; Maison; Northgate; Bluebell; Silverline; Ironbridge; Moorland;"
    "Seabright; Larkspur; Driftwood; Emberly; Foxglove; Glenview; Hawthorn; Juniper; Kingfisher;"
    "Lighthouse; Marigold; Nettlefield; Orchard; Pinecrest; Quarry; Redwood; Stonebridge; Thistle;"
    "Upland; Valemont; Willowby; Yarrow; Zephyr; Ashgrove; Birchwood; Cobalt; Dunmore; Elmstead;"
    "Falcon; Goldcrest; Heron; Inverness; Jasper"
)
NOUNS = {
    "Retail": _words("Grocers; Outfitters; Home; Books; Furniture; Boutique"),
    "Hospitality": _words("Hotels; Bistro; Coffee; Brewing; Spa; Inns"),
    "Technology": _words("Software; Robotics; Labs; Analytics; Systems; Games"),
    "Healthcare": _words("Dental; Medical; Clinic; Physio; Pharmacy; Care"),
    "Non-profit": _words("Foundation; Trust; Society; Alliance; Charity; Fund"),
    "Education": _words("Academy; Institute; College; School; Learning; Campus"),
    "Manufacturing": _words("Engineering; Works; Fabrication; Textiles; Tools; Plastics"),
    "Finance": _words("Insurance; Credit Union; Capital; Partners; Advisory; Bank"),
}
#: city, country, dialling code
CITIES = tuple(
    tuple(c.split(",")) for c in _words(
        "Dublin,Ireland,+353; Galway,Ireland,+353; Cork,Ireland,+353; Berlin,Germany,+49;"
        "Hamburg,Germany,+49; Munich,Germany,+49; Amsterdam,Netherlands,+31;"
        "Utrecht,Netherlands,+31; Lyon,France,+33; Bordeaux,France,+33;"
        "Bristol,United Kingdom,+44; Leeds,United Kingdom,+44; Copenhagen,Denmark,+45"
    )
)  # fmt: skip
STREETS = _words(
    "Quay Street; High Street; Chausseestraße; Harbour Road; Mill Lane; Market Square;"
    "Keizersgracht; Rue de la République; Station Road; Parkweg"
)
REGIONS = _words("Leinster; Connacht; Bavaria; North Holland; Auvergne-Rhône-Alpes")
FIRST_NAMES = _words(
    "Katrin; Priya; Niamh; Eleanor; Orla; Lukas; Sophie; Daan; Chloé; Aoife; Jamal; Mette;"
    "Oliver; Hannah; Rónán; Fatima"
)
LAST_NAMES = _words(
    "Vogel; Nair; O'Brien; Hughes; Kelly; Schmidt; de Vries; Dubois; Murphy; Jensen; Okoye;"
    "Walsh; Fischer; Bakker; Laurent; Byrne"
)
TEAM = _words("Maya Patel; Tom Becker; Léa Moreau; Jonas Berg; Aisha Okafor")
OWNERS = (*TEAM, *_words("Sean Gallagher; Ingrid Holm; Marco Rossi"))
SOURCES = _words("Referral; Website; Cold call; Trade show; LinkedIn; Partner")
SIZES = (("1-10", (2, 10)), ("11-50", (11, 50)), ("51-200", (51, 200)),
         ("201-1000", (201, 1000)), ("1000+", (1001, 12000)))  # fmt: skip
CLIENT_TAGS = _words(
    "b2b; b2c; ecommerce; multi-site; startup; public-sector; sustainability; key-account;"
    "family-owned; international"
)
OPP_TAGS = _words(
    "branding; website; seo; social-media; content; paid-ads; photography; video; print"
)
SERVICES = {
    "branding": _words("brand refresh; brand identity; logo and guidelines; rebrand pitch"),
    "website": _words("website redesign; online shop; booking website; microsite; care plan"),
    "seo": _words("SEO audit; SEO retainer; local SEO; SEO migration"),
    "social-media": _words("social media retainer; Instagram launch; community management"),
    "content": _words("content strategy; blog retainer; newsletter programme"),
    "paid-ads": _words("paid search; paid social campaign; Google Shopping set-up"),
    "photography": _words("product photography; catalogue shoot; team portraits"),
    "video": _words("launch video; video series; explainer film; event video"),
    "print": _words("annual report; brochure; packaging redesign; trade stand"),
}
LOSS_REASONS = _words(
    "Price; Timing; Went with competitor; No budget; No decision; Scope mismatch"
)
#: confidence stars (low, high) by stage; other stages (1, 4)
CONFIDENCE = {"Closed won": (3, 5), "Closed lost": (0, 3), "N/A": (0, 2), "Unqualified": (0, 2)}
CLIENT_BODIES = (
    "Met {name} at a trade show; they want one agency for everything.",
    "{name} prefers calls to e-mail. Decisions go through the board once a month.",
    "Long-standing relationship: {name} signs off on anything under EUR 20,000.",
    "Introduced by a partner agency. **Procurement** needs three quotes above EUR 10,000.",
)
OPP_BODIES = (
    "First call with {name}: they want to launch before the summer season.",
    "Proposal walked through with {name}; questions on the *timeline* and the payment terms.",
    "Budget confirmed by {name}. Next step: workshop with their marketing team.",
    "Competing with two other agencies. Our angle is speed and a fixed price.",
    "Follow-up sent; waiting for feedback from their managing director.",
    "Scope trimmed to fit the budget: phase two moves to next year.",
)
PROJECT_BODIES = (
    "Weekly status with {name} on Tuesdays. Shared drive set up.",
    "Design approved in the second round; build started on time.",
    "Waiting on copy from {name}'s team; the launch date is at risk if it slips.",
)
TABLE = "| Phase | Fee (EUR) |\n| --- | ---: |\n| Discovery | 6,000 |\n| Build | 24,000 |"
CHECKLIST = "- [x] kick-off held\n- [ ] copy signed off\n- [ ] launch"
INVOICE_BODY = (
    "| Item | EUR |\n| --- | ---: |\n| {deal} | {amount:,}.00 |\n"
    "| **Total excl. VAT** | **{amount:,}.00** |\n\n"
    "Payment terms: 30 days from the invoice date, by bank transfer.\n"
)


@dataclass(slots=True)
class Doc:
    """One record to write: its file, front matter (in key order) and Markdown body."""

    path: str
    meta: dict[str, Any]
    body: str
    extra: dict[str, Any] = field(default_factory=dict)  # generator-only facts, not written


def slugify(text: str) -> str:
    """A record id from free text: ASCII lower case, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _unique(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    taken.add(candidate)
    return candidate


def make_clients(rng: random.Random, count: int, logos: Sequence[str]) -> list[Doc]:
    """``count`` companies with contacts, addresses and firmographics; stage set later."""
    docs: list[Doc] = []
    taken: set[str] = set()
    for _ in range(count):
        category = rng.choice(sorted(NOUNS))
        name = f"{rng.choice(PREFIXES)} {rng.choice(NOUNS[category])}"
        if slugify(name) in taken:
            name = f"{name} {rng.choice(CITIES)[0]}"
        slug = _unique(slugify(name), taken)
        city, country, dial = rng.choice(CITIES)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = f"{slug}.example"
        size_i = rng.choices(range(5), weights=(20, 35, 25, 14, 6))[0]
        meta: dict[str, Any] = {"title": name, "list": "Lead"}
        if rng.random() < 0.8:
            meta["tags"] = rng.sample(CLIENT_TAGS, rng.randint(1, 3))
        meta["owner"] = rng.choice(OWNERS)
        meta["contact_name"] = f"{first} {last}"
        meta["email"] = f"{slugify(first)}.{slugify(last)}@{domain}"
        if rng.random() < 0.85:
            digits = (rng.randint(1, 99), rng.randint(100, 999), rng.randint(1000, 9999))
            meta["phone"] = " ".join(map(str, (dial, *digits)))
        meta["website"] = f"https://www.{domain}"
        street = f"{rng.randint(1, 180)} {rng.choice(STREETS)}"
        roll = rng.random()
        if roll < 0.7:
            address: dict[str, str] = {"street": street, "city": city}
            address["postcode"] = str(rng.randint(10000, 99999))
            if rng.random() < 0.2:
                address["region"] = rng.choice(REGIONS)
            meta["address"] = {**address, "country": country}
        elif roll < 0.85:
            meta["address"] = f"{street}, {city}, {country}"
        meta["source"] = rng.choice(SOURCES)
        meta["category"] = category
        meta["size"] = SIZES[size_i][0]
        meta["employees"] = rng.randint(*SIZES[size_i][1])
        if rng.random() < 0.7:
            meta["vat_exempt"] = category in ("Non-profit", "Education") and rng.random() < 0.6
        if logos and rng.random() < 0.15:
            meta["logo"] = rng.choice(logos)
        if rng.random() < 0.1:
            meta["notes_long"] = rng.choice(CLIENT_BODIES).format(name=last)
        body = f"{rng.choice(CLIENT_BODIES).format(name=first)}\n"
        docs.append(Doc(f"data/clients/{slug}.md", meta, body, {"slug": slug}))
    return docs


def _stage(rng: random.Random, created: dt.date) -> str:
    if rng.random() < min(0.95, (TODAY - created).days / 240):
        return rng.choices(("Closed won", "Closed lost", "N/A"), weights=(45, 40, 15))[0]
    return rng.choices(OPEN_STAGES, weights=OPEN_WEIGHTS)[0]


def make_opportunities(
    rng: random.Random, count: int, clients: Sequence[Doc], pdfs: Sequence[str]
) -> list[Doc]:
    """``count`` deals spread over the nine stages, filed in year folders when closed."""
    # A few key accounts get many deals: cumulative Pareto weights, computed once.
    weights = list(itertools.accumulate(rng.paretovariate(1.6) for _ in clients))
    docs: list[Doc] = []
    taken: set[str] = set()
    for _ in range(count):
        client = rng.choices(clients, cum_weights=weights)[0]
        short = str(client.meta["title"]).split()[0]
        tags = rng.sample(OPP_TAGS, rng.choices((1, 2, 3), weights=(5, 4, 2))[0])
        phrase = rng.choice(SERVICES[tags[0]])
        created = FIRST_DAY + dt.timedelta(days=rng.randint(0, (TODAY - FIRST_DAY).days))
        stage = _stage(rng, created)
        title = f"{short} {phrase}"
        slug = _unique(slugify(title), taken)
        meta: dict[str, Any] = {"title": title, "list": stage, "tags": tags}
        if stage != "Unqualified" or rng.random() < 0.9:
            meta["owner"] = rng.choice(OWNERS)
        meta["client"] = client.extra["slug"]
        if stage != "N/A" or rng.random() < 0.6:
            amount = max(1000, int(round(rng.lognormvariate(9.6, 0.75), -2)))
            meta["amount"] = amount
            if rng.random() < 0.85:
                meta["cost"] = int(round(amount * rng.uniform(0.42, 0.68), -1))
            if rng.random() < 0.12:
                meta["discount"] = rng.choice((5, 10, 15, 20))
        if rng.random() < 0.3 or "retainer" in phrase:
            meta["retainer"] = "retainer" in phrase or "care" in phrase
        if rng.random() < 0.9:
            meta["confidence"] = rng.randint(*CONFIDENCE.get(stage, (1, 4)))
        if rng.random() < 0.9:
            meta["source"] = client.meta["source"] if rng.random() < 0.8 else rng.choice(SOURCES)
        meta["created"] = created
        if stage != "N/A" or rng.random() < 0.5:
            meta["expected_close"] = created + dt.timedelta(days=rng.randint(20, 180))
        folder = "data/opportunities"
        if stage in ("Closed won", "Closed lost"):
            closed = min(TODAY, created + dt.timedelta(days=rng.randint(7, 150)))
            meta["closed"] = closed
            folder = f"{folder}/{closed.year}"
        elif stage == "N/A":
            folder = f"{folder}/{created.year}"
        if stage == "Closed lost":
            meta["loss_reason"] = rng.choice(LOSS_REASONS)
        late = stage in OPEN_STAGES[3:] or stage.startswith("Closed")
        if late and rng.random() < 0.5:
            meta["proposal_url"] = f"https://docs.northwind-studio.example/proposals/{slug}"
        if pdfs and rng.random() < 0.03:
            meta["files"] = rng.sample(list(pdfs), min(len(pdfs), rng.randint(1, 2)))
        body = _body(rng, OPP_BODIES, client.meta["contact_name"])
        docs.append(Doc(f"{folder}/{slug}.md", meta, body, {"slug": slug, "client": client}))
    return docs


def _body(rng: random.Random, paragraphs: Sequence[str], contact: str) -> str:
    chosen = rng.sample(list(paragraphs), rng.randint(1, 3))
    text = "\n\n".join(p.format(name=contact.split()[0]) for p in chosen)
    if rng.random() < 0.1:
        text += "\n\n" + TABLE
    if rng.random() < 0.15:
        text += "\n\n" + CHECKLIST
    return text + "\n"


def set_client_stages(clients: Sequence[Doc], opportunities: Sequence[Doc]) -> None:
    """Active / Past client by the last won deal, Prospect with open deals, else Lead."""
    last_won: dict[str, dt.date] = {}
    has_open: set[str] = set()
    for opp in opportunities:
        slug = str(opp.meta["client"])
        if opp.meta["list"] == "Closed won":
            last_won[slug] = max(last_won.get(slug, FIRST_DAY), opp.meta["closed"])
        elif opp.meta["list"] in OPEN_STAGES:
            has_open.add(slug)
    for client in clients:
        slug = client.extra["slug"]
        if slug in last_won:
            recent = (TODAY - last_won[slug]).days <= 365
            client.meta["list"] = "Active client" if recent else "Past client"
        elif slug in has_open:
            client.meta["list"] = "Prospect"


def make_projects(rng: random.Random, count: int, opportunities: Sequence[Doc]) -> list[Doc]:
    """Delivery projects for ``count`` won deals, with follow-up deals of the same client."""
    won = [o for o in opportunities if o.meta["list"] == "Closed won" and "amount" in o.meta]
    by_client: dict[str, list[Doc]] = {}
    for opp in opportunities:
        by_client.setdefault(str(opp.meta["client"]), []).append(opp)
    docs: list[Doc] = []
    for opp in sorted(rng.sample(won, min(count, len(won))), key=lambda o: o.extra["slug"]):
        start = opp.meta["closed"] + dt.timedelta(days=rng.randint(5, 30))
        due = start + dt.timedelta(days=rng.randint(20, 200))
        budget = max(10, round(opp.meta["amount"] / rng.uniform(80, 110) / 5) * 5)
        meta: dict[str, Any] = {"title": f"{opp.meta['title']} delivery"}
        if start > TODAY:
            meta["list"], logged = "Kick-off", 0.0
        elif due < TODAY - dt.timedelta(days=30):
            meta["list"] = "Delivered" if rng.random() < 0.95 else "On hold"
            logged = rng.uniform(0.75, 1.25)
        elif due < TODAY:
            meta["list"], logged = "Review", rng.uniform(0.85, 1.1)
        else:
            meta["list"] = "In progress" if rng.random() < 0.9 else "On hold"
            logged = (TODAY - start).days / max(1, (due - start).days) * rng.uniform(0.7, 1.3)
        meta["tags"] = list(opp.meta["tags"])
        meta["owner"] = rng.choice(TEAM)
        meta["opportunity"] = opp.extra["slug"]
        meta["team"] = rng.sample(TEAM, rng.randint(1, 3))
        meta["start"], meta["due"] = start, due
        meta["budget_hours"] = budget
        if logged or rng.random() < 0.5:
            meta["hours_logged"] = round(budget * logged)
        same_client = by_client[str(opp.meta["client"])]
        later = [o.extra["slug"] for o in same_client if o.meta["created"] > start]
        if later and rng.random() < 0.3:
            meta["follow_ups"] = rng.sample(sorted(later), min(len(later), rng.randint(1, 2)))
        slug = f"{opp.extra['slug']}-delivery"
        body = _body(rng, PROJECT_BODIES, opp.extra["client"].meta["contact_name"])
        docs.append(Doc(f"data/projects/{slug}.md", meta, body, {"slug": slug, "opp": opp}))
    return docs


def make_invoices(
    rng: random.Random, count: int, opportunities: Sequence[Doc], projects: Sequence[Doc]
) -> list[Doc]:
    """``count`` invoices for won deals: one, or kick-off and balance for delivery projects.

    Numbers are INV-<issue year>-<001..999> as the schema requires; when a year has used all
    999 numbers (only above about 25,000 deals), numbering continues in the next free year.
    """
    project_of = {p.extra["opp"].extra["slug"]: p for p in projects}
    won = [o for o in opportunities if o.meta["list"] == "Closed won" and "amount" in o.meta]
    pending: list[tuple[dt.date | None, Doc, int, int]] = []
    for opp in rng.sample(won, len(won)):
        if len(pending) >= count:
            break
        amount, slug = opp.meta["amount"], opp.extra["slug"]
        parts = [amount] if slug not in project_of or amount < 20000 else [amount // 2] * 2
        parts[-1] = amount - sum(parts[:-1])
        issued = opp.meta["closed"] + dt.timedelta(days=rng.randint(3, 20))
        for i, part in enumerate(parts[: count - len(pending)]):
            when = issued if i == 0 else issued + dt.timedelta(days=rng.randint(60, 150))
            pending.append((None if when > TODAY else when, opp, part, i))
    pending.sort(key=lambda p: (p[0] or TODAY + dt.timedelta(days=1), p[1].extra["slug"], p[3]))
    used: dict[int, int] = {}
    docs: list[Doc] = []
    for issued, opp, amount, _ in pending:
        year = issued.year if issued else TODAY.year
        while used.get(year, 0) >= 999:
            year += 1
        used[year] = used.get(year, 0) + 1
        title = f"INV-{year}-{used[year]:03d}"
        meta: dict[str, Any] = {"title": title, "list": "Draft", "opportunity": opp.extra["slug"]}
        project = project_of.get(opp.extra["slug"])
        if project is not None:
            meta["project"] = project.extra["slug"]
        meta["amount"] = amount
        if issued is not None:
            due = issued + dt.timedelta(days=30)
            meta["issued"], meta["due"] = issued, due
            paid = min(TODAY, issued + dt.timedelta(days=rng.randint(5, 50)))
            roll = rng.random()
            if roll < 0.04:
                meta["list"] = "Void"
            elif due >= TODAY and roll < 0.55:
                meta["list"] = "Sent"
            elif due < TODAY and roll < 0.12:
                meta["list"] = "Overdue"
            else:
                meta["list"], meta["paid_on"] = "Paid", paid
        body = INVOICE_BODY.format(amount=amount, deal=opp.meta["title"])
        docs.append(Doc(f"data/invoices/{title.lower()}.md", meta, body))
    return docs


def scalar(value: Any, *, in_flow: bool = False) -> str:
    """One YAML value as it would be typed in a record file (quoted only when needed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(scalar(v, in_flow=True) for v in value) + "]"
    text = str(value)
    plain = (
        _PLAIN.fullmatch(text)
        and not _NUMBER_LIKE.fullmatch(text)
        and text.lower() not in _RESERVED
        and ": " not in text
        and " #" not in text
        and not text.endswith((":", " "))
        and not (in_flow and any(c in text for c in ":,[]{}"))
    )
    return text if plain else json.dumps(text, ensure_ascii=False)


def render(doc: Doc) -> str:
    """The Markdown file of one record: YAML front matter, blank line, body."""
    lines = ["---"]
    for key, value in doc.meta.items():
        if isinstance(value, Mapping):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {scalar(v)}" for k, v in value.items())
        else:
            lines.append(f"{key}: {scalar(value)}")
    lines += ["---", "", doc.body]
    return "\n".join(lines)


def generate(
    out: Path, records: int, *, seed: int = 0, source: Path = REPO_ROOT
) -> dict[str, int]:
    """Write a data repo of ``records`` opportunities into ``out``.

    Args:
        out: the folder to create; must be missing, empty, or an earlier generated repo.
        records: number of opportunities; clients are records/10, delivery projects
            records/20 and invoices records/10 (each at least 1).
        seed: the random seed; the same seed gives byte-identical files.
        source: the repo whose crmgen.yml, schema/ and files/ are copied.

    Returns:
        project name -> number of records written.
    """
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise FileExistsError(f"{out} is not empty and not a generated repo; pick another folder")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / MARKER).write_text(f"records={records} seed={seed}\n", encoding="utf-8")
    shutil.copy2(source / "crmgen.yml", out / "crmgen.yml")
    shutil.copytree(source / "schema", out / "schema")
    shutil.copytree(source / "files", out / "files")
    attachments = sorted(p.relative_to(source).as_posix() for p in (source / "files").rglob("*"))
    logos = [p for p in attachments if p.endswith(".png")]
    pdfs = [p for p in attachments if p.endswith(".pdf")]
    rng = random.Random(seed)
    clients = make_clients(rng, max(1, records // 10), logos)
    opportunities = make_opportunities(rng, records, clients, pdfs)
    set_client_stages(clients, opportunities)
    projects = make_projects(rng, max(1, records // 20), opportunities)
    invoices = make_invoices(rng, max(1, records // 10), opportunities, projects)
    everything = dict(
        clients=clients, opportunities=opportunities, projects=projects, invoices=invoices
    )
    for docs in everything.values():
        for doc in docs:
            target = out / doc.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(doc), encoding="utf-8", newline="\n")
    return {name: len(docs) for name, docs in everything.items()}


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m bench.generate OUT --records N [--seed S]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("out", type=Path, help="folder to write the data repo into")
    parser.add_argument("--records", type=int, required=True, help="number of opportunities")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    counts = generate(args.out, args.records, seed=args.seed)
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    print(f"wrote {summary} to {args.out}")


if __name__ == "__main__":
    main()

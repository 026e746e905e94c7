"""Automation declarations: the ``automations:`` key of ``crmgen.yml`` -> checked specs.

Each automation is a mapping (or a list of them, one per project):

```yaml
automations:
  assignment:
    project: opportunities
    lists: [Unqualified]             # the records to assign: in these lists, without an owner
    field: owner                     # the field to fill (default: owner)
    rules:                           # first match wins
      - {when: {region: DACH}, owner: Anna Schmidt}
      - {when: {amount: {min: 50000}}, owner: Tom Becker}
    team: [Anna Schmidt, Tom Becker, Priya Nair]   # fallback: the one with fewest open records
  follow_up: {project: opportunities, days: 14, lists: {Negotiation: 7}, activity: last_contact}
  aging: {project: opportunities, lists: {Negotiation: 20}}     # max_days of the lists, or these
  notifications: {project: opportunities, notify: {Closed won: ["@anna", "@finance"]}}
```

Every key, project, list and field is checked against the data, at its line and column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crmgen.messages import did_you_mean
from crmgen.model import Dataset, Diagnostic, Pos, ProjectSchema, error, freeze
from crmgen.model.automations import (
    Aging,
    Assignment,
    Automations,
    Criterion,
    FollowUp,
    Notifications,
    Rule,
)

KINDS = ("assignment", "follow_up", "aging", "notifications")
_KEYS = {
    "assignment": ("project", "lists", "field", "rules", "team"),
    "follow_up": ("project", "days", "lists", "activity"),
    "aging": ("project", "lists"),
    "notifications": ("project", "notify"),
}


def normalise(value: Any) -> str | None:
    """The text a criterion compares: True -> "true", 2.0 -> "2", dates ISO, None kept."""
    from decimal import Decimal

    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        return str(int(number)) if number == number.to_integral_value() else str(number)
    return str(value)


def _many(value: Any) -> Sequence[Any]:
    """A list as it is, anything else as a list of one."""
    return value if isinstance(value, Sequence) and not isinstance(value, str) else [value]


class _Parser:
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.config = dataset.config
        self.diagnostics: list[Diagnostic] = []

    def pos(self, key: str, value: bool = True) -> Pos:
        found = self.config.value_positions.get(key) if value else None
        parts = key.split("/")
        while found is None and parts:
            found = self.config.positions.get("/".join(parts))
            parts.pop()
        return found or Pos(1, 1)

    def fail(self, key: str, message: str, code: str = "automation", at_key: bool = False) -> None:
        where = self.pos(key, value=not at_key)
        name = key.removeprefix("automations/")
        self.diagnostics.append(
            error(code, f"automations/{name}: {message}", self.config.path, where, "automations")
        )

    def all(self, raw: Any) -> Automations:
        if raw is None:
            return Automations()
        found: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        for kind, value in raw.items():
            key = f"automations/{kind}"
            if kind not in KINDS:
                hint = did_you_mean(str(kind), KINDS) or f"; automations are {', '.join(KINDS)}"
                self.fail(key, f"unknown automation '{kind}'{hint}", at_key=True)
                continue
            entries = _many(value)
            for index, entry in enumerate(entries):
                sub = f"{key}/{index}" if entries is value else key
                spec = self.one(kind, entry, sub)
                if spec is not None:
                    found[kind].append(spec)
        return Automations(
            assignment=tuple(found["assignment"]),
            follow_up=tuple(found["follow_up"]),
            aging=tuple(found["aging"]),
            notifications=tuple(found["notifications"]),
        )

    def one(self, kind: str, raw: Any, key: str) -> Any:
        if not isinstance(raw, Mapping):
            self.fail(key, f"write a mapping of {', '.join(_KEYS[kind])}")
            return None
        for name in raw:
            if name not in _KEYS[kind]:
                hint = did_you_mean(str(name), _KEYS[kind]) or f"; keys: {', '.join(_KEYS[kind])}"
                self.fail(f"{key}/{name}", f"unknown key '{name}'{hint}", at_key=True)
        schema = self.project(raw, key)
        if schema is None:
            return None
        before = len(self.diagnostics)
        spec = {
            "assignment": self.assignment,
            "follow_up": self.follow_up,
            "aging": self.aging,
            "notifications": self.notifications,
        }[kind](raw, key, schema)
        return spec if len(self.diagnostics) == before else None

    def project(self, raw: Mapping[str, Any], key: str) -> ProjectSchema | None:
        projects = self.dataset.projects
        name = raw.get("project")
        if name is None:
            with_lists = [p.schema for p in projects.values() if p.schema.lists]
            opens = [s for s in with_lists if any(spec.kind == "open" for spec in s.lists)]
            if len(opens) == 1:
                return opens[0]
            self.fail(key, "say which project with 'project:'", at_key=True)
            return None
        if name not in projects:
            hint = did_you_mean(str(name), projects)
            self.fail(f"{key}/project", f"unknown project '{name}'{hint}")
            return None
        schema = projects[name].schema
        if not schema.lists:
            self.fail(f"{key}/project", f"project {name} has no lists (stages) to watch")
            return None
        return schema

    def lists(self, schema: ProjectSchema, names: Any, key: str) -> tuple[str, ...]:
        items = _many(names)
        declared = [spec.name for spec in schema.lists]
        for index, name in enumerate(items):
            if name not in declared:
                where = f"{key}/{index}" if items is names else key
                hint = did_you_mean(str(name), declared)
                self.fail(where, f"{schema.name} has no list '{name}'{hint}")
        return tuple(str(n) for n in items)

    def days(self, schema: ProjectSchema, raw: Any, key: str) -> dict[str, int]:
        if not isinstance(raw, Mapping):
            self.fail(key, "write a mapping of list names to days, e.g. {Negotiation: 7}")
            return {}
        found: dict[str, int] = {}
        declared = [spec.name for spec in schema.lists]
        for name, days in raw.items():
            if name not in declared:
                hint = did_you_mean(str(name), declared)
                message = f"{schema.name} has no list '{name}'{hint}"
                self.fail(f"{key}/{name}", message, at_key=True)
            elif self.positive(days, f"{key}/{name}"):
                found[str(name)] = int(days)
        return found

    def positive(self, value: Any, key: str) -> bool:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(key, f"write a whole number of days of at least 1, not {value!r}")
            return False
        return True

    def field(self, schema: ProjectSchema, name: Any, key: str, types: Sequence[str] = ()) -> str:
        spec = schema.field(str(name))
        if spec is None:
            hint = did_you_mean(str(name), [f.name for f in schema.fields])
            self.fail(key, f"{schema.name} has no field '{name}'{hint}")
            return ""
        if types and spec.shown_type not in types:
            wanted = " or ".join(types)
            self.fail(key, f"'{name}' is a {spec.shown_type} field; use a {wanted} field")
        return str(name)

    def assignment(self, raw: Mapping[str, Any], key: str, schema: ProjectSchema) -> Assignment:
        field = self.field(schema, raw.get("field", "owner"), f"{key}/field", ("text", "select"))
        lists = self.lists(schema, raw.get("lists", [schema.lists[0].name]), f"{key}/lists")
        rules: list[Rule] = []
        raw_rules = raw.get("rules", ())
        for index, rule in enumerate(raw_rules if isinstance(raw_rules, Sequence) else ()):
            sub = f"{key}/rules/{index}"
            if not isinstance(rule, Mapping) or not isinstance(rule.get("owner"), str):
                self.fail(sub, "write {when: {FIELD: VALUE, ...}, owner: NAME}")
                continue
            when = self.criteria(schema, rule.get("when", {}), f"{sub}/when")
            rules.append(Rule(str(rule["owner"]), when, self.pos(sub, value=False)))
        team = raw.get("team", ())
        if (
            not isinstance(team, Sequence)
            or isinstance(team, str)
            or not all(isinstance(t, str) and t for t in team)
        ):
            self.fail(f"{key}/team", "write a list of names, e.g. [Anna Schmidt, Tom Becker]")
            team = ()
        if not rules and not team:
            self.fail(key, "give 'rules', a 'team' for round-robin, or both", at_key=True)
        where = self.pos(key, False)
        return Assignment(schema.name, field, lists, tuple(rules), tuple(team), where)

    def criteria(self, schema: ProjectSchema, raw: Any, key: str) -> tuple[Criterion, ...]:
        if not isinstance(raw, Mapping) or not raw:
            self.fail(key, "write a mapping such as {region: DACH} or {amount: {min: 50000}}")
            return ()
        found: list[Criterion] = []
        for name, value in raw.items():
            sub = f"{key}/{name}"
            if not self.field(schema, name, sub):
                continue
            if isinstance(value, Mapping):
                unknown = [k for k in value if k not in ("min", "max")]
                if unknown or not value:
                    self.fail(sub, "a range is {min: X}, {max: Y} or both")
                    continue
                bounds = (normalise(value.get("min")), normalise(value.get("max")))
                found.append((str(name), (), bounds))
            else:
                items = _many(value)
                found.append((str(name), tuple(normalise(v) for v in items), None))
        return tuple(found)

    def follow_up(self, raw: Mapping[str, Any], key: str, schema: ProjectSchema) -> FollowUp:
        days = raw.get("days", 14)
        self.positive(days, f"{key}/days")
        lists = self.days(schema, raw.get("lists", {}), f"{key}/lists")
        activity = raw.get("activity")
        if activity is not None:
            activity = self.field(schema, activity, f"{key}/activity", ("date",)) or None
        return FollowUp(schema.name, int(days) if isinstance(days, int) else 14, freeze(lists),
                        activity, self.pos(key, False))  # fmt: skip

    def aging(self, raw: Mapping[str, Any], key: str, schema: ProjectSchema) -> Aging:
        limits = {spec.name: spec.max_days for spec in schema.lists if spec.max_days}
        limits.update(self.days(schema, raw.get("lists", {}), f"{key}/lists"))
        if not limits:
            self.fail(key, f"no list of {schema.name} has max_days; declare them", at_key=True)
        return Aging(schema.name, freeze(limits), self.pos(key, False))

    def notifications(
        self, raw: Mapping[str, Any], key: str, schema: ProjectSchema
    ) -> Notifications:
        notify = raw.get("notify")
        found: dict[str, tuple[str, ...]] = {}
        if not isinstance(notify, Mapping) or not notify:
            self.fail(key, "write notify: {LIST: [who, ...]}", at_key=True)
            return Notifications(schema.name, freeze(found), self.pos(key, False))
        declared = [spec.name for spec in schema.lists]
        for name, who in notify.items():
            if name not in declared:
                hint = did_you_mean(str(name), declared)
                message = f"{schema.name} has no list '{name}'{hint}"
                self.fail(f"{key}/notify/{name}", message, at_key=True)
                continue
            people = _many(who)
            if not people or not all(isinstance(p, str) and p for p in people):
                self.fail(f"{key}/notify/{name}", "write a list of people or @handles")
                continue
            found[str(name)] = tuple(str(p) for p in people)
        return Notifications(schema.name, freeze(found), self.pos(key, False))


def parse(dataset: Dataset) -> tuple[Automations, list[Diagnostic]]:
    """The automations ``crmgen.yml`` declares, checked against ``dataset``; every problem at
    its line. An automation with a problem is left out; the others still run."""
    parser = _Parser(dataset)
    return parser.all(dataset.config.automations), parser.diagnostics

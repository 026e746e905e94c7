from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crmgen.config import parse_config
from crmgen.schema import parse_schema


def test_defaults_and_values() -> None:
    config, diags = parse_config("title: Agency\ncurrency: EUR\nlocale: en-GB\nprojects: [a, b]\n")
    assert diags == []
    assert (config.title, config.currency, config.locale) == ("Agency", "EUR", "en_GB")
    assert config.projects == ("a", "b")
    assert config.attachments == "files"
    assert config.positions["projects/1"].line == 4


def test_unknown_keys_are_warnings_at_their_line() -> None:
    _, diags = parse_config("title: X\ntitel: Y\nfoo: 1\n")
    assert [(d.severity, d.line, d.message) for d in diags] == [
        ("warning", 2, "unknown setting 'titel' is ignored; did you mean 'title'?"),
        ("warning", 3, "unknown setting 'foo' is ignored; remove it"),
    ]


def test_bad_values_are_errors_and_fall_back() -> None:
    config, diags = parse_config(
        "currency: euro\nlocale: xx_YY\nattachments: a/../../x\nprojects: [Bad Name]\n"
    )
    assert sorted(str(d.field) for d in diags) == [
        "attachments",
        "currency",
        "locale",
        "projects.0",
    ]
    assert config.currency == "USD" and config.attachments == "files"


@settings(max_examples=300, deadline=1000)
@given(st.text(max_size=200))
def test_random_config_and_schema_text_never_raise(text: str) -> None:
    _, diags = parse_config(text)
    for d in diags:
        assert d.path == "crmgen.yml"
    schema, diags = parse_schema("x", text, "schema/x.schema.yaml")
    assert schema is not None or diags


@settings(max_examples=200, deadline=1000)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_random_schema_shapes_never_raise(value: object) -> None:
    import json

    text = "type: object\nx-crmgen: {title: title}\nproperties:\n  title: " + json.dumps(value)
    schema, diags = parse_schema("x", text, "schema/x.schema.yaml")
    assert schema is not None or diags


def test_a_project_cannot_take_a_folder_of_the_site() -> None:
    config, diags = parse_config("title: T\nprojects: [clients, assets, files, dashboards]\n")
    assert [(d.line, d.col, d.field) for d in diags] == [(2, 21, "projects"), (2, 29, "projects"),
                                                         (2, 36, "projects")]  # fmt: skip
    assert "'assets' would share its folder" in diags[0].message
    assert config.projects == ()  # a bad list is not used


def test_publish_audience_must_be_declared_and_is_pointed_at() -> None:
    text = "audiences: [{name: staff}, {name: managers}]\npublish:\n  audience: staf\n"
    config, diags = parse_config(text)
    assert [(d.severity, d.line, d.col, d.field, d.message) for d in diags] == [
        (
            "error",
            3,
            13,
            "publish.audience",
            "publish.audience 'staf' is not declared under audiences; did you mean 'staff'?",
        )
    ]
    assert config.publish_audience is None
    config, diags = parse_config(text.replace("staf\n", "managers\n"))
    assert diags == [] and config.publish_audience == "managers"
    _, diags = parse_config("publish: {audience: x, where: y}\n")
    assert [d.field for d in diags] == ["publish"]  # reported once, then ignored
    assert parse_config("title: X\n")[0].publish_audience is None

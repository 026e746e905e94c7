"""Who sees what: restricted fields, everything computed from them, and the cut dataset."""

from __future__ import annotations

from test_views import make_dataset

from crmgen.redaction import hidden_fields, redact


def test_computed_fields_reading_restricted_ones_are_hidden_too() -> None:
    hidden = hidden_fields(make_dataset(), None)
    assert ("opportunities", "profit") in hidden  # amount - cost
    assert ("opportunities", "margin") in hidden  # profit / amount: through profit
    assert ("opportunities", "client_secret") in hidden  # lookup of clients.secret_note
    assert ("clients", "partnered") in hidden  # referenced-by through the hidden partner
    assert ("opportunities", "client_email") not in hidden
    assert ("clients", "deals") not in hidden
    assert hidden_fields(make_dataset(), "managers") == frozenset()
    assert hidden_fields(make_dataset(), "staff") == hidden


def test_the_cut_dataset_holds_no_hidden_field_value_or_back_link() -> None:
    cut, problems = redact(make_dataset(), None)
    assert problems == [] and cut.audience == ""
    opps = cut.projects["opportunities"]
    names = [f.name for f in opps.schema.fields]
    assert "cost" not in names and "profit" not in names and "amount" in names
    assert "cost" not in opps.schema.json_schema.get("properties", {})
    web = opps.records["acme-web"]
    assert (
        "cost" not in web.values and "profit" not in web.computed and "partner" not in web.values
    )
    globex = cut.projects["clients"].records["globex"]
    assert globex.linked_from("opportunities") == ("big-win",)  # not acme-web, via partner
    assert ("opportunities", "profit") not in cut.reads


def test_an_undeclared_audience_is_a_usage_error_with_a_hint() -> None:
    dataset = make_dataset()
    cut, problems = redact(dataset, "manager")
    assert cut is dataset
    assert [(d.code, d.message) for d in problems] == [
        ("usage-audience", "--audience 'manager' is not declared in crmgen.yml under "
         "audiences; did you mean 'managers'?"),
    ]  # fmt: skip
    assert redact(dataset, "interns")[1][0].message.endswith("declared: staff, managers")

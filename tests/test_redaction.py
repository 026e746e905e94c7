"""Who sees what: restricted fields and everything computed from them."""

from __future__ import annotations

from test_views import make_dataset

from crmgen.redaction import audience, hidden_fields


def test_computed_fields_reading_restricted_ones_are_hidden_too() -> None:
    hidden = hidden_fields(make_dataset(), None)
    assert ("opportunities", "profit") in hidden  # amount - cost
    assert ("opportunities", "margin") in hidden  # profit / amount: through profit
    assert ("opportunities", "client_secret") in hidden  # lookup of clients.secret_note
    assert ("clients", "partnered") in hidden  # referenced-by through the hidden partner
    assert ("opportunities", "client_email") not in hidden
    assert ("clients", "deals") not in hidden
    assert hidden_fields(make_dataset(), "managers") == frozenset()


def test_audience_sees() -> None:
    public = audience(make_dataset(), None)
    managers = audience(make_dataset(), "managers")
    assert not public.sees("opportunities", "cost")
    assert public.sees("opportunities", "amount")
    assert public.sees("opportunities", None)
    assert managers.sees("opportunities", "cost")

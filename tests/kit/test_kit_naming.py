"""The kit's naming helpers and school year, shared by every adapter."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from adapters.kit.naming import (
    ascii_fold,
    checked_template,
    name_part,
    pseudonym,
    render,
    short_id,
    unique_names,
)
from adapters.kit.schoolyear import SchoolYear, term_label


def test_names_fold_to_ascii_and_templates_collapse_spaces() -> None:
    assert ascii_fold("Åsa Öberg") == "asa oberg"
    assert ascii_fold("Straße") == "strasse"
    assert name_part("Anna Karin") == "anna-karin"
    assert name_part(None) == ""
    assert render("{given}  {family}", {"given": "a", "family": "b"}) == "a b"


def test_short_ids_and_pseudonyms_are_stable_and_reveal_nothing() -> None:
    uuid = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
    assert short_id(uuid) == "3f2504e0"
    assert len(short_id("p-1")) == 8
    assert pseudonym("p-1") == pseudonym("p-1") != pseudonym("p-2")
    assert "p-1" not in pseudonym("p-1")


@settings(max_examples=200, derandomize=True)
@given(st.dictionaries(st.text("ab", min_size=1, max_size=3), st.sampled_from(["x", "X", "y"])))
def test_unique_names_never_share_a_name_and_the_lowest_id_keeps_it(wanted: dict[str, str]) -> None:
    out = unique_names(wanted)
    assert list(out) == list(wanted)
    lowered = [n.lower() for n in out.values()]
    assert len(set(lowered)) == len(lowered)
    for name in {n.lower() for n in wanted.values()}:
        first = min(k for k, n in wanted.items() if n.lower() == name)
        assert out[first] == wanted[first]


def test_the_school_year_names_and_its_calendar_agree() -> None:
    autumn, spring, summer = date(2025, 9, 1), date(2026, 3, 1), date(2026, 6, 20)
    assert SchoolYear.of(autumn) == SchoolYear.of(spring) == SchoolYear(2025)
    assert SchoolYear(2025).label == "2025/26" and SchoolYear(2025).short == "2526"
    assert SchoolYear(2025).first_day == date(2025, 7, 1)
    assert SchoolYear(2025).last_day == date(2026, 6, 30)
    assert (term_label(autumn), term_label(spring)) == ("HT25", "VT26")
    # teaching ends on the second Friday of June; the summer after belongs to the next year
    assert SchoolYear(2025).end == date(2026, 6, 12)
    assert SchoolYear.of(summer) == SchoolYear(2025)
    assert SchoolYear.teaching_on(summer) == SchoolYear(2026)
    assert SchoolYear(2025).autumn_start == date(2025, 8, 18)
    assert SchoolYear(2025).term_start(spring) == SchoolYear(2025).spring_start


def test_checked_template_refuses_unknown_placeholders_and_an_address_without_domain() -> None:
    class Model(BaseModel):
        mail: Annotated[str, checked_template(frozenset({"given"}), "mail", address=True)] = ""
        name: Annotated[str, checked_template(frozenset({"given"}), "name")] = ""

    assert Model(mail="{given}@skola.example", name="{given}").name == "{given}"
    with pytest.raises(ValidationError, match="unknown placeholder"):
        Model(name="{family}")
    with pytest.raises(ValidationError, match="has no '@domain' part"):
        Model(mail="{given}")
    with pytest.raises(ValidationError, match="not a valid template"):
        Model(name="{given")

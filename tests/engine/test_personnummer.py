"""The personnummer module: valid numbers pass in every form, a wrong check digit is flagged,
samordningsnummer are valid, reserve numbers are never judged; the bulk check agrees with the
one-by-one check; and validation warns without ever showing the number."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from engine.personnummer import (
    IN_TEXT,
    Form,
    check_digit_ok,
    form,
    looks_like,
    luhn_digit,
    wrong_check_digit,
    wrong_check_digits,
)
from engine.testing.builder import tiny_snapshot
from engine.validate import validate

births = st.dates(min_value=date(1890, 1, 1), max_value=date(2025, 12, 31))
serials = st.integers(min_value=0, max_value=999)


def number(birth: date, serial: int, *, samordning: bool = False, style: str = "12") -> str:
    """A number with the right check digit, in one of the forms sources use."""
    day = birth.day + (60 if samordning else 0)
    nine = f"{birth:%y%m}{day:02d}{serial:03d}"
    ten = nine + str(luhn_digit(nine))
    if style == "12":
        return f"{birth.year // 100}{ten}"
    if style == "12-":
        return f"{birth.year // 100}{ten[:6]}-{ten[6:]}"
    return f"{ten[:6]}{'+' if birth.year < 1920 else '-'}{ten[6:]}"


styles = st.sampled_from(["12", "12-", "10"])


@given(births, serials, st.booleans(), styles)
def test_a_number_with_the_right_check_digit_passes(
    birth: date, serial: int, samordning: bool, style: str
) -> None:
    value = number(birth, serial, samordning=samordning, style=style)
    assert form(value) is (Form.SAMORDNINGSNUMMER if samordning else Form.PERSONNUMMER)
    assert check_digit_ok(value)
    assert not wrong_check_digit(value)
    assert looks_like(value)


@given(births, serials, st.booleans(), styles, st.integers(min_value=1, max_value=9))
def test_any_other_check_digit_is_flagged(
    birth: date, serial: int, samordning: bool, style: str, shift: int
) -> None:
    value = number(birth, serial, samordning=samordning, style=style)
    wrong = value[:-1] + str((int(value[-1]) + shift) % 10)
    assert wrong_check_digit(wrong)
    assert wrong_check_digits([value, wrong, None]) == [1]


def test_a_known_number_and_its_samordningsnummer() -> None:
    # Skatteverket's example: 811218-9876; its samordningsnummer adds sixty to the day
    assert not wrong_check_digit("198112189876")
    assert not wrong_check_digit("811218-9876")
    assert wrong_check_digit("198112189875")
    nine = "811278987"
    assert not wrong_check_digit(f"19{nine}{luhn_digit(nine)}")
    assert form(f"19{nine}{luhn_digit(nine)}") is Form.SAMORDNINGSNUMMER


def test_reserve_numbers_are_never_judged_by_their_check_digit() -> None:
    reserve = [
        "19800101-T123",  # Region Skåne: a letter among the last four
        "19800101T123",
        "2280010123A1",  # Inera's national reserve id: letters, century plus three
        "990101234567",  # Region Stockholm: twelve digits starting 99
        "198013011234",  # no month 13: not a personnummer form at all
        "20230230-1234",  # no 30 February either
        "20230292-1234",  # day 92: no samordningsnummer of a real date (32 + 60)
        "",
        "12345",
    ]
    for value in reserve:
        assert form(value) is Form.OTHER, value
        assert not wrong_check_digit(value), value
    assert wrong_check_digits([*reserve, None]) == []
    assert looks_like("19800101-T123")  # still kept out of every payload


@given(
    st.lists(
        st.one_of(
            st.tuples(births, serials, st.booleans(), styles, st.integers(0, 9)).map(
                lambda t: number(t[0], t[1], samordning=t[2], style=t[3])[:-1] + str(t[4])
            ),
            st.none(),
            st.text(alphabet="0123456789-+TX", max_size=14),
        ),
        max_size=40,
    )
)
def test_the_bulk_check_agrees_with_the_one_by_one_check(values: list[str | None]) -> None:
    expected = [i for i, v in enumerate(values) if v and wrong_check_digit(v)]
    assert wrong_check_digits(values) == expected


@given(st.lists(st.tuples(births, serials, st.integers(0, 9)), min_size=1, max_size=60))
def test_the_bulk_check_of_twelve_digit_numbers(rows: list[tuple[date, int, int]]) -> None:
    """The usual case, all twelve digits, takes the column sums: the same answer."""
    values: list[str | None] = [number(b, s)[:-1] + str(d) for b, s, d in rows]
    assert wrong_check_digits(values) == [
        i for i, v in enumerate(values) if v and wrong_check_digit(v)
    ]


def test_personnummer_in_text_are_found() -> None:
    assert IN_TEXT.search("pupil 200501021234 not found")
    assert IN_TEXT.search("pupil 050102-1234 not found")
    assert not IN_TEXT.search("id 12345 and 2005-01-02")


def test_validation_warns_of_a_wrong_check_digit_without_the_number() -> None:
    snap = tiny_snapshot()
    persons = dict(snap.persons)
    ids = sorted(persons)
    right, wrong, reserve = ids[0], ids[1], ids[2]
    good = number(date(2012, 3, 4), 123)
    bad = good[:-1] + str((int(good[-1]) + 3) % 10)
    persons[right] = replace(persons[right], civic_no=good)
    persons[wrong] = replace(persons[wrong], civic_no=bad)
    persons[reserve] = replace(persons[reserve], civic_no="20120304-T123")
    findings = validate(replace(snap, persons=persons))
    flagged = [f for f in findings if f.code == "person.civic_no_check_digit"]
    assert [(f.record_id, f.severity.value) for f in flagged] == [(wrong, "warning")]
    for f in findings:
        assert bad not in f.message + f.fix + f.record_id
        assert bad[2:] not in f.message + f.fix
